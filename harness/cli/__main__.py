"""``python -m harness.cli ...`` runs the CLI (the tests start it so)."""

from harness.cli import main

main()
