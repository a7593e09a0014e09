"""Videos of attacks (``python -m batpal.evaluate ... render=true``): one short GIF or MP4 per (defender, attack,
victim), the victim marked, in ``<run dir>/videos/``.

Kept free of imports here, so ``batpal.config.validate`` can read ``families`` without loading the renderers.
"""
