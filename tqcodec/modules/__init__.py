"""Small streamable building blocks (causal convs, LSTM with skip, SEANet stacks)."""
