"""Speed measurements: the inference pipeline, a torchvision peer, and the node's
own overhead. Figures are printed and written as JSON, never asserted in tests."""
