package org.tqcodec.stream.player;

import java.util.Arrays;

/** One input, output or state tensor of an exported decoder, as the manifest lists it. */
public final class TensorSpec {
    private final String name;
    private final int[] shape;
    private final String dtype;

    public TensorSpec(String name, int[] shape, String dtype) {
        this.name = name;
        this.shape = shape.clone();
        this.dtype = dtype;
    }

    public String name() { return name; }

    public int[] shape() { return shape.clone(); }

    public String dtype() { return dtype; }

    /** Number of elements (product of the shape; 1 for a scalar). */
    public int size() {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return (int) n;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TensorSpec)) {
            return false;
        }
        TensorSpec t = (TensorSpec) o;
        return name.equals(t.name) && Arrays.equals(shape, t.shape) && dtype.equals(t.dtype);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + ":" + dtype;
    }
}
