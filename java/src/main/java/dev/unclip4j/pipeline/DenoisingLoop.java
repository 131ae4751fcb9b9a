package dev.unclip4j.pipeline;

import dev.unclip4j.schedule.Noise;
import dev.unclip4j.schedule.UnCLIPScheduler;

/**
 * The one denoising loop of the cascade: the prior, the decoder and the super-resolution stage
 * differ in network, scheduler and conditioning ({@link Model}), never in this loop, which is
 * diffusers' (pipeline_unclip.py, the three {@code for i, t in enumerate(...)} loops):
 *
 * <pre>
 * for i, t in timesteps:
 *     out = model(x, t, i)                     (guidance, when the stage has it, inside the model)
 *     x = scheduler.step(out, t, x, prev_timestep = timesteps[i + 1] or None, noise)
 * </pre>
 *
 * Latents are host float32 arrays, channels last ([B, D] for the prior, [B, H, W, C] for
 * images), as the scheduler steps them.
 */
final class DenoisingLoop {
    private DenoisingLoop() {}

    /** A stage's network with its conditioning and guidance: the model output for latents x at step i (timestep t). */
    @FunctionalInterface
    interface Model {
        float[] predict(float[] x, int t, int i);
    }

    /** Called after every step: the stage's name, steps done, steps in all. */
    @FunctionalInterface
    interface StepListener {
        void stepDone(String stage, int done, int total);
    }

    static float[] run(String stage, UnCLIPScheduler scheduler, int steps, float[] latents, int[] shape, Noise noise,
                       Model model, StepListener listener) {
        int[] timesteps = scheduler.setTimesteps(steps);
        float[] x = latents;
        for (int i = 0; i < timesteps.length; i++) {
            float[] out = model.predict(x, timesteps[i], i);
            x = scheduler.step(out, timesteps[i], x, shape, scheduler.prevTimestep(i), noise).prevSample();
            listener.stepDone(stage, i + 1, timesteps.length);
        }
        return x;
    }
}
