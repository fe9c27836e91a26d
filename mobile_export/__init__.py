"""From a TQCodec checkpoint to int8 streaming decoders on phones (ExecuTorch, Core ML, LiteRT)."""
