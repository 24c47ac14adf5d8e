"""Datasets as fixed tensor splits. Each reader returns plain arrays; :mod:`harness.data.splits` fixes the split."""
