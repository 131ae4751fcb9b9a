package dev.unclip4j.schedule;

import java.util.Arrays;

/**
 * {@code torch.Generator()} on the CPU, seeded with {@code manual_seed}: the same seed gives the
 * same {@code torch.randn(shape, generator=g)} values (float32, bit for bit) and successive calls
 * continue the stream exactly as torch does, so an image made here matches the reference
 * pipeline's for the same seed.
 *
 * <p>A port of PyTorch 1.13's CPU random numbers (later releases keep the float32 AVX2 Box-Muller,
 * restructured as {@code NormalFill16}; their scalar path takes {@code log1p(-u2)} where 1.13 takes
 * {@code log(1 - u2)}):
 * <ul>
 *   <li>{@code aten/src/ATen/core/MT19937RNGEngine.h} {@code mt19937_engine}: the 32-bit Mersenne
 *       Twister, seeded with the seed's low 32 bits ({@code init_with_uint32});
 *   <li>{@code aten/src/ATen/CPUGeneratorImpl.cpp} {@code random()}, {@code random64()} (two draws,
 *       the first the high half), {@code set_current_seed} (which also drops the cached normal);
 *   <li>{@code aten/src/ATen/core/TransformationHelper.h} {@code uniform_real}: the low 24 (float)
 *       or 53 (double) bits times 2^-24 or 2^-53;
 *   <li>{@code aten/src/ATen/native/cpu/DistributionTemplates.h} {@code normal_kernel}: a float32
 *       tensor of 16 or more values takes {@code normal_fill_AVX2} (uniforms for every value, then
 *       Box-Muller on blocks of 16: values j and j+8 from one pair; a tail shorter than 16 redraws
 *       the uniforms of the last 16 values and transforms them again); fewer than 16 values take
 *       {@code at::normal_distribution<double>} one value at a time, which draws two random64
 *       uniforms, returns r·cos θ and caches r·sin θ for the next scalar draw;
 *   <li>{@code aten/src/ATen/native/cpu/avx_mathfun.h} {@code log256_ps}, {@code sincos256_ps}:
 *       the Cephes float polynomials that the AVX2 path uses instead of libm. GCC contracts their
 *       multiply-adds into FMAs (torch builds its AVX2 kernels with {@code -mfma} and the GNU
 *       default {@code -ffp-contract=fast}); {@link #cephesLog} and {@link #cephesSinCos} do the
 *       same, which is what makes the results identical to the last bit.
 * </ul>
 *
 * <p>Torch 1.13 running its DEFAULT or AVX512 kernels ({@code ATEN_CPU_CAPABILITY=default}, or
 * where it picks AVX512) takes scalar libm {@code logf/sinf/cosf} instead: the same draws, but 39 %
 * of the values differ in the last bits, by up to 2e-6 (seed 0, 200 000 values). The reference
 * here is the AVX2 path, which torch 1.13 reported using on this project's x86-64 machines.
 *
 * <p>Not thread-safe: one generator is one stream, used by one pipeline run.
 */
public final class TorchGenerator implements Noise {
    private static final int N = 624, M = 397;

    private final int[] state = new int[N];
    private int left, next;
    private long seed;
    // at::normal_distribution<double>'s second Box-Muller value, kept for the next scalar draw.
    private boolean hasCachedNormal;
    private double cachedNormal;

    /** {@code torch.Generator().manual_seed(seed)}; a negative seed is the 64-bit pattern torch stores for it. */
    public TorchGenerator(long seed) {
        manualSeed(seed);
    }

    /** {@code generator.manual_seed(seed)}: restarts the stream and drops the cached normal value. */
    public void manualSeed(long seed) {
        this.seed = seed;
        state[0] = (int) seed;  // only the low 32 bits reach the engine: seeds 5 and 2^32 + 5 are one stream
        for (int j = 1; j < N; j++) state[j] = 1812433253 * (state[j - 1] ^ (state[j - 1] >>> 30)) + j;
        left = 1;
        next = 0;
        hasCachedNormal = false;
    }

    /** {@code generator.initial_seed()}, as a signed long holding torch's uint64. */
    public long initialSeed() {
        return seed;
    }

    /** {@code random()}: the next 32 bits of the Mersenne Twister, tempered. */
    public int nextInt() {
        if (--left == 0) reload();
        int y = state[next++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    /** {@code random64()}: two draws, the first in the high 32 bits. */
    public long nextLong() {
        long hi = nextInt() & 0xffffffffL, lo = nextInt() & 0xffffffffL;
        return hi << 32 | lo;
    }

    /**
     * {@code torch.randn(shape, generator=g)} in float32: the values in torch's row-major order
     * (for an image shape [N, C, H, W], NCHW; permute to NHWC afterwards).
     */
    public float[] randn(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("randn: negative dimension in shape " + Arrays.toString(shape));
            n *= d;
            if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("randn: shape " + Arrays.toString(shape) + " is too large");
        }
        float[] out = new float[(int) n];
        fillNormal(out);
        return out;
    }

    /** Fills {@code out} as {@code torch.randn} fills a contiguous float32 tensor of {@code out.length} values. */
    public void fillNormal(float[] out) {
        int n = out.length;
        if (n < 16) {
            for (int i = 0; i < n; i++) out[i] = (float) scalarNormal();
            return;
        }
        for (int i = 0; i < n; i++) out[i] = uniformFloat();
        for (int i = 0; i + 16 <= n; i += 16) boxMuller16(out, i);
        if (n % 16 != 0) {
            // torch redraws the uniforms of the last 16 values (overwriting normals already made) and redoes them
            for (int i = n - 16; i < n; i++) out[i] = uniformFloat();
            boxMuller16(out, n - 16);
        }
    }

    /** uniform_real_distribution<float>(0, 1): the low 24 bits of one draw, times 2^-24. */
    private float uniformFloat() {
        return (nextInt() & 0xffffff) * 0x1p-24f;
    }

    /** uniform_real_distribution<double>(0, 1): the low 53 bits of random64(), times 2^-53. */
    private double uniformDouble() {
        return (nextLong() & ((1L << 53) - 1)) * 0x1p-53;
    }

    /** at::normal_distribution<double>(0, 1), with its cached second value. */
    private double scalarNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return cachedNormal;
        }
        double u1 = uniformDouble(), u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * StrictMath.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = r * StrictMath.sin(theta);
        hasCachedNormal = true;
        return r * StrictMath.cos(theta);
    }

    private static final float TWO_PI = (float) (2.0 * Math.PI);

    /** normal_fill_16_AVX2: uniforms d[o..o+16) become normals, d[o+j] and d[o+j+8] from one pair (mean 0, std 1). */
    private static void boxMuller16(float[] d, int o) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[o + j];  // [0, 1) -> (0, 1] for the log
            float u2 = d[o + j + 8];
            float radius = (float) Math.sqrt(-2f * cephesLog(u1));  // a double sqrt rounded to float is the float sqrt
            long sc = cephesSinCos(TWO_PI * u2);
            d[o + j] = radius * Float.intBitsToFloat((int) (sc >>> 32));  // r·cos θ
            d[o + j + 8] = radius * Float.intBitsToFloat((int) sc);       // r·sin θ
        }
    }

    private static final float SQRTHF = (float) 0.707106781186547524;
    private static final float[] LOG_P = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f,
            1.4249322787E-1f, -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    private static final float LOG_Q1 = -2.12194440e-4f, LOG_Q2 = 0.693359375f;

    /** log256_ps for one positive float, with the FMAs GCC makes of it. */
    static float cephesLog(float x) {
        x = Math.max(x, Float.MIN_NORMAL);  // cut off denormals
        int bits = Float.floatToRawIntBits(x);
        float e = (float) ((bits >>> 23) - 0x7f) + 1f;
        x = Float.intBitsToFloat((bits & ~0x7f800000) | 0x3f000000);  // the mantissa, in [0.5, 1)
        boolean small = x < SQRTHF;  // then e -= 1, x = x + x - 1, in the order of the vector code
        float tmp = small ? x : 0f;
        x = x - 1f;
        e = e - (small ? 1f : 0f);
        x = x + tmp;
        float z = x * x;
        float y = LOG_P[0];
        for (int k = 1; k < LOG_P.length; k++) y = Math.fma(y, x, LOG_P[k]);
        y = y * x;
        y = Math.fma(y, z, e * LOG_Q1);
        y = y - z * 0.5f;
        return Math.fma(e, LOG_Q2, x + y);
    }

    private static final float FOPI = (float) 1.27323954473516;  // 4 / pi
    private static final float DP1 = 0.78515625f, DP2 = 2.4187564849853515625e-4f, DP3 = (float) 3.77489497744594108e-8;

    /**
     * sincos256_ps for one float, with GCC's FMAs: the sine in the low 32 bits of the result, the
     * cosine in the high 32 bits (a long, so the hot loop allocates nothing).
     */
    static long cephesSinCos(float x) {
        boolean negative = x < 0;
        x = Math.abs(x);
        int j = (int) (x * FOPI);  // truncation, as cvttps
        j = (j + 1) & ~1;
        float y = j;
        boolean swapSin = (j & 4) != 0, sinFromSinPoly = (j & 2) == 0, negCos = (~(j - 2) & 4) != 0;
        // extended-precision reduction x - y·pi/4 in three parts
        x = Math.fma(y, -DP1, x);
        x = Math.fma(y, -DP2, x);
        x = Math.fma(y, -DP3, x);
        float z = x * x;
        float c = Math.fma(2.443315711809948E-005f, z, -1.388731625493765E-003f);
        c = Math.fma(c, z, 4.166664568298827E-002f);
        c = c * z;
        c = Math.fma(c, z, -(z * 0.5f));
        c = c + 1f;
        float s = Math.fma(-1.9515295891E-4f, z, 8.3321608736E-3f);
        s = Math.fma(s, z, -1.6666654611E-1f);
        s = s * z;
        s = Math.fma(s, x, x);
        float sin = sinFromSinPoly ? s : c, cos = sinFromSinPoly ? c : s;
        if (swapSin != negative) sin = -sin;
        if (negCos) cos = -cos;
        return (Float.floatToRawIntBits(cos) & 0xffffffffL) << 32 | (Float.floatToRawIntBits(sin) & 0xffffffffL);
    }

    /** MT19937's state transition (mt19937_engine::next_state). */
    private void reload() {
        for (int k = 0; k < N; k++) {
            int y = (state[k] & 0x80000000) | (state[(k + 1) % N] & 0x7fffffff);
            state[k] = state[(k + M) % N] ^ (y >>> 1) ^ ((state[(k + 1) % N] & 1) != 0 ? 0x9908b0df : 0);
        }
        left = N;
        next = 0;
    }
}
