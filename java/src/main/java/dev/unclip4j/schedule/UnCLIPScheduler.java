package dev.unclip4j.schedule;

import dev.unclip4j.schedule.UnCLIPSchedulerConfig.PredictionType;
import dev.unclip4j.schedule.UnCLIPSchedulerConfig.VarianceType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * diffusers v0.20.0's {@code UnCLIPScheduler} ({@code schedulers/scheduling_unclip.py}): Karlo's
 * DDPM variant with cosine betas, respaced timesteps whose beta is recomputed from the skipped
 * span, fixed-small-log or learned-range variance, epsilon or x₀ prediction.
 *
 * <p>Tensors are host float32 arrays in our layout, channels last: a sample of shape
 * [N, H, W, C] (or [N, C] for the prior's embeddings); the model output has C channels, or 2C
 * for learned-range variance (the prediction, then the variance values, along the last axis, as
 * diffusers splits them along its channel axis). Every operation is the float32 operation
 * diffusers performs, in its order, so results match to float32 rounding (log and exp may differ
 * from torch's vectorised ones by an ulp).
 */
public final class UnCLIPScheduler {
    private final UnCLIPSchedulerConfig config;
    private final float[] betas, alphas, alphasCumprod;
    private int[] timesteps;

    public UnCLIPScheduler(UnCLIPSchedulerConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        int n = config.numTrainTimesteps();
        betas = squaredcosCapV2Betas(n);
        alphas = new float[n];
        alphasCumprod = new float[n];
        // torch.cumprod accumulates a float32 tensor in double on the CPU and rounds each prefix to float32
        double product = 1;
        for (int i = 0; i < n; i++) {
            alphas[i] = 1f - betas[i];
            product *= alphas[i];
            alphasCumprod[i] = (float) product;
        }
        timesteps = new int[n];
        for (int i = 0; i < n; i++) timesteps[i] = n - 1 - i;
    }

    /** The scheduler of a {@code scheduler_config.json} (or a folder holding one). */
    public static UnCLIPScheduler fromConfig(Path path) {
        return new UnCLIPScheduler(UnCLIPSchedulerConfig.read(path));
    }

    public UnCLIPSchedulerConfig config() {
        return config;
    }

    /** The standard deviation of the initial noise: the pipeline multiplies its latents by it. */
    public float initNoiseSigma() {
        return 1f;
    }

    public float[] betas() {
        return betas.clone();
    }

    public float[] alphas() {
        return alphas.clone();
    }

    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /**
     * betas_for_alpha_bar(T, max_beta=0.999, "cosine"): Python float (double) arithmetic, then
     * torch.tensor(..., dtype=float32).
     */
    static float[] squaredcosCapV2Betas(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            out[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return out;
    }

    private static double alphaBar(double t) {
        double c = StrictMath.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * {@code set_timesteps}: {@code round(arange(n) · (T − 1)/(n − 1))} (numpy rounds half to
     * even), descending, from T − 1 to 0. One step is refused: diffusers divides by n − 1 there.
     *
     * @return the timesteps, also kept for {@link #timesteps()} and {@link #prevTimestep(int)}
     */
    public int[] setTimesteps(int numInferenceSteps) {
        int t = config.numTrainTimesteps();
        if (numInferenceSteps <= 0) throw new IllegalArgumentException("num_inference_steps must be positive, not " + numInferenceSteps);
        if (numInferenceSteps == 1) {
            throw new IllegalArgumentException("num_inference_steps 1 is not supported: diffusers' UnCLIPScheduler divides by"
                    + " num_inference_steps - 1 (ZeroDivisionError); use 2 or more");
        }
        if (numInferenceSteps > t) {
            throw new IllegalArgumentException("num_inference_steps " + numInferenceSteps + " exceeds num_train_timesteps " + t
                    + " (timesteps would repeat)");
        }
        double ratio = (double) (t - 1) / (numInferenceSteps - 1);
        int[] out = new int[numInferenceSteps];
        for (int i = 0; i < numInferenceSteps; i++) out[numInferenceSteps - 1 - i] = (int) Math.rint(i * ratio);
        timesteps = out;
        return out.clone();
    }

    /** The timesteps of the last {@link #setTimesteps} (before any: T − 1 down to 0, as diffusers). */
    public int[] timesteps() {
        return timesteps.clone();
    }

    /**
     * The {@code prev_timestep} the UnCLIP pipeline passes with step {@code index}: the next
     * timestep, or after the last one (diffusers passes None) t − 1, which is −1.
     */
    public int prevTimestep(int index) {
        Objects.checkIndex(index, timesteps.length);
        return index + 1 < timesteps.length ? timesteps[index + 1] : timesteps[index] - 1;
    }

    /** What {@link #step} returns: x_{t−1} and the (clipped) predicted x₀, both shaped as the sample. */
    public record Step(float[] prevSample, float[] predOriginalSample) {}

    /**
     * One reverse step x_t → x_{prev}: {@code UnCLIPScheduler.step(model_output, timestep, sample,
     * prev_timestep, generator)}.
     *
     * @param modelOutput the model output, channels last, with C channels (2C for learned_range)
     * @param timestep t, in [0, num_train_timesteps)
     * @param sample x_t, channels last
     * @param shape the sample's shape: [N, H, W, C], [N, C], or any [N, ..., C]
     * @param prevTimestep the timestep stepped to, below t; −1 after the last (see {@link #prevTimestep(int)})
     * @param noise draws the variance noise when t > 0: {@code randn} of the NCHW shape
     *        [N, C, H, W], permuted here to channels last; unused (may be null) at t = 0
     */
    public Step step(float[] modelOutput, int timestep, float[] sample, int[] shape, int prevTimestep, Noise noise) {
        int size = checkShape(shape, sample);
        int n = shape[0], c = shape[shape.length - 1], spatial = size / (n * c);
        boolean learned = config.varianceType() == VarianceType.LEARNED_RANGE;
        int outC = learned ? 2 * c : c;
        Objects.requireNonNull(modelOutput, "modelOutput");
        if (modelOutput.length != (long) size / c * outC) {
            throw new IllegalArgumentException("model output has " + modelOutput.length + " values; a sample of shape "
                    + Arrays.toString(shape) + " needs " + ((long) size / c * outC) + " (" + outC + " channels"
                    + (learned ? ": prediction and variance, for learned_range" : "") + ")");
        }
        int t = timestep, prev = prevTimestep;
        if (t < 0 || t >= betas.length) throw new IllegalArgumentException("timestep " + t + " is outside [0, " + betas.length + ")");
        if (prev < -1 || prev >= t) throw new IllegalArgumentException("prev_timestep " + prev + " must be in [-1, timestep " + t + ")");

        // 1. alphas, betas of the step t -> prev (the precomputed ones when prev = t - 1)
        float alphaProdT = alphasCumprod[t];
        float alphaProdTPrev = prev >= 0 ? alphasCumprod[prev] : 1f;
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        float beta, alpha;
        if (prev == t - 1) {
            beta = betas[t];
            alpha = alphas[t];
        } else {
            beta = 1f - alphaProdT / alphaProdTPrev;
            alpha = 1f - beta;
        }
        float sqrtBetaProdT = sqrt(betaProdT), sqrtAlphaProdT = sqrt(alphaProdT);
        float range = (float) config.clipSampleRange();
        // 4. coefficients of x0 and x_t in the posterior mean, formula (7) of the DDPM paper
        float predOriginalSampleCoeff = sqrt(alphaProdTPrev) * beta / betaProdT;
        float currentSampleCoeff = sqrt(alpha) * betaProdTPrev / betaProdT;

        // 6. the variance: drawn before it is computed, in NCHW order, as diffusers does
        float[] drawn = null;
        float fixedStd = 0, minLog = 0, maxLog = 0;
        if (t > 0) {
            Objects.requireNonNull(noise, "step at timestep " + t + " > 0 draws noise: a generator is required");
            int[] nchw = new int[shape.length];
            nchw[0] = n;
            nchw[1] = c;
            System.arraycopy(shape, 1, nchw, 2, shape.length - 2);
            drawn = noise.randn(nchw);
            float variance = betaProdTPrev / betaProdT * beta;  // β̃ of formulas (6)-(7)
            if (learned) {
                minLog = log(variance);
                maxLog = log(beta);
            } else {
                fixedStd = exp(0.5f * log(Math.max(variance, 1e-20f)));
            }
        }

        float[] prevSample = new float[size], predOriginal = new float[size];
        boolean epsilon = config.predictionType() == PredictionType.EPSILON;
        for (int b = 0; b < n; b++) {
            for (int s = 0; s < spatial; s++) {
                int row = b * spatial + s;
                for (int ch = 0; ch < c; ch++) {
                    int i = row * c + ch, o = row * outC + ch;
                    float x = sample[i], out = modelOutput[o];
                    // 2. predicted x0, formula (15)
                    float pred = epsilon ? (x - sqrtBetaProdT * out) / sqrtAlphaProdT : out;
                    // 3. clip it
                    if (config.clipSample()) pred = Math.min(Math.max(pred, -range), range);
                    predOriginal[i] = pred;
                    // 5. posterior mean
                    float mean = predOriginalSampleCoeff * pred + currentSampleCoeff * x;
                    if (drawn != null) {
                        float std = fixedStd;
                        if (learned) {
                            // interpolate log β̃ .. log β by the model's value v in [-1, 1]
                            float frac = (modelOutput[o + c] + 1f) / 2f;
                            std = exp(0.5f * (frac * maxLog + (1f - frac) * minLog));
                        }
                        mean = mean + std * drawn[(b * c + ch) * spatial + s];
                    }
                    prevSample[i] = mean;
                }
            }
        }
        return new Step(prevSample, predOriginal);
    }

    private static int checkShape(int[] shape, float[] sample) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(sample, "sample");
        if (shape.length < 2) throw new IllegalArgumentException("sample shape " + Arrays.toString(shape) + ": need [N, ..., C]");
        long size = 1;
        for (int d : shape) {
            if (d <= 0) throw new IllegalArgumentException("sample shape " + Arrays.toString(shape) + " has a dimension below 1");
            size *= d;
            if (size > Integer.MAX_VALUE / 2) throw new IllegalArgumentException("sample shape " + Arrays.toString(shape) + " is too large");
        }
        if (sample.length != size) {
            throw new IllegalArgumentException("sample has " + sample.length + " values, its shape " + Arrays.toString(shape) + " says " + size);
        }
        return (int) size;
    }

    // float32 elementary functions: sqrt is exact (torch's x ** 0.5 is sqrt); log and exp are the
    // correctly rounded values, which torch's vectorised ones meet to within an ulp.
    private static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }

    private static float log(float x) {
        return (float) Math.log(x);
    }

    private static float exp(float x) {
        return (float) Math.exp(x);
    }
}
