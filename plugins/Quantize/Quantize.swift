// plugins/Quantize: INT8/FP16 quantization (issue 7). Sources land beside this file.
