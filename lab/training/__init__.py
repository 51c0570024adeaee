"""The demo model's training: its speech data, its stages, weight averaging and the respelling
probe. Run as modules from the repository root, e.g.
`.tools/venv-nemo/bin/python -m lab.training.train_demo --stage 1 ...`."""
