"""The product's model tools: the Parakeet-TDT architecture, building, training and exporting
models to the ONNX layout the server loads. Run them as modules from the repository root, e.g.
`.tools/venv-nemo/bin/python -m models.export_nemo MODEL.nemo --out DIR`."""
