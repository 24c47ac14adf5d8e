"""What runs inside the sandbox: ``python -I -B harness/submission/_child.py JOB.json``.

Why a separate program (not a function called after fork): the submission's code must run in a fresh interpreter
that was confined *before* anything else happened in it. The order is the security argument:

1. read the job, set resource limits (memory, processes, file size, CPU time) on this process, arm the watchdog
   (:mod:`.confinement`);
2. apply Landlock (file-system and TCP allow-list; in the fallback this is the only kernel-enforced file policy),
   then :mod:`harness.submission.hardening` (no_new_privs, every capability dropped, seccomp: no ``socket(2)``);
3. import torch and the harness (the phase modules :mod:`.train` and :mod:`.evaluate` are imported only now),
   capture the reference supernet class;
4. install the audit hook (clear messages, process-count cap), then import the submission's code and run it;
5. write the outputs (a state dict, and for custom modules the pickled module) into ``scratch/out``.

Failures are written to ``scratch/out/result.json`` as one line (:mod:`.channel`); the harness re-checks every
output it reads (``weights_only=True``, shapes, finiteness), so a hostile submission that forges these files
gains nothing.

This package's ``__init__`` and :mod:`.channel` / :mod:`.confinement` import only the standard library and
stdlib-only harness modules: they run before the confinement is in place.
"""
