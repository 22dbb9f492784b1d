"""Export a chosen policy for deployment: C for microcontrollers, ONNX, NumPy."""
