package dev.unclip4j.bench;

/**
 * A conv benchmark shape, "NxHxWxCinxCoutxKxStride" (x-separated: JMH splits -p values at commas),
 * padding K/2 as the U-Nets' convs use it. Shared by {@link ConvBench} and {@link CudnnConvBench}
 * so that ours and the cuDNN anchor run exactly the same convolution.
 */
record ConvShape(int n, int h, int w, int cin, int cout, int k, int stride) {
    static ConvShape parse(String shape) {
        String[] s = shape.split("x");
        if (s.length != 7) throw new IllegalArgumentException("conv shape '" + shape + "' is not NxHxWxCinxCoutxKxStride");
        int[] v = new int[7];
        for (int i = 0; i < 7; i++) v[i] = Integer.parseInt(s[i]);
        return new ConvShape(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    }

    int pad() {
        return k / 2;
    }

    int oh() {
        return (h + 2 * pad() - k) / stride + 1;
    }

    int ow() {
        return (w + 2 * pad() - k) / stride + 1;
    }
}
