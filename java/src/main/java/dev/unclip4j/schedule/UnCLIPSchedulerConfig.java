package dev.unclip4j.schedule;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.io.ConfigReader;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The settings of diffusers' {@code UnCLIPScheduler} (v0.20.0), as its {@code scheduler_config.json}
 * holds them. Every setting diffusers knows is read; a value this port does not implement, an
 * unknown key with a value, or a wrong JSON type is an error naming the file, key and value.
 *
 * @param numTrainTimesteps {@code num_train_timesteps} (1000): the length of the beta schedule
 * @param varianceType {@code variance_type}: {@code fixed_small_log} or {@code learned_range}
 * @param clipSample {@code clip_sample} (true): clamp the predicted x₀ to ±{@code clipSampleRange}
 * @param clipSampleRange {@code clip_sample_range} (1.0)
 * @param predictionType {@code prediction_type}: {@code epsilon} (the model predicts the noise) or
 *        {@code sample} (it predicts x₀)
 */
public record UnCLIPSchedulerConfig(int numTrainTimesteps, VarianceType varianceType, boolean clipSample,
                                    double clipSampleRange, PredictionType predictionType) {
    /** The variance added at each step: the fixed posterior variance, or one the model interpolates. */
    public enum VarianceType { FIXED_SMALL_LOG, LEARNED_RANGE }

    /** What the model's (first C channels of) output are. */
    public enum PredictionType { EPSILON, SAMPLE }

    /** The defaults of {@code UnCLIPScheduler.__init__}. */
    public static final UnCLIPSchedulerConfig DEFAULTS =
            new UnCLIPSchedulerConfig(1000, VarianceType.FIXED_SMALL_LOG, true, 1.0, PredictionType.EPSILON);

    public UnCLIPSchedulerConfig {
        if (numTrainTimesteps < 2) throw new IllegalArgumentException("num_train_timesteps must be at least 2, not " + numTrainTimesteps);
        if (!(clipSampleRange > 0 && clipSampleRange < Float.MAX_VALUE)) {
            throw new IllegalArgumentException("clip_sample_range must be a positive float32 number, not " + clipSampleRange);
        }
        if (varianceType == null || predictionType == null) throw new IllegalArgumentException("variance_type and prediction_type are required");
    }

    /** Reads a {@code scheduler_config.json}, or the one in a folder (e.g. {@code decoder_scheduler/}). */
    public static UnCLIPSchedulerConfig read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("scheduler_config.json") : path;
        return read(file.toString(), ConfigReader.parse(file));
    }

    /** Reads config JSON already parsed; {@code where} names it in errors. */
    public static UnCLIPSchedulerConfig read(String where, JsonNode json) {
        ConfigReader r = new ConfigReader(where, json);
        // diffusers drops private keys ("_name_or_path", "_use_default_values") before building the scheduler
        for (String key : r.unreadKeys()) if (key.startsWith("_")) r.ignore(key);
        r.choice("_class_name", "UnCLIPScheduler", "UnCLIPScheduler");
        for (String key : new String[] {"variance_type", "prediction_type", "beta_schedule"}) {
            if (r.present(key) && !r.has(key)) throw r.unsupported(key, "null", "a string");
        }
        int steps = r.integer("num_train_timesteps", DEFAULTS.numTrainTimesteps);
        if (steps < 2) throw r.unsupported("num_train_timesteps", String.valueOf(steps), "an integer of at least 2");
        VarianceType variance = r.choice("variance_type", "fixed_small_log", "fixed_small_log", "learned_range")
                .equals("learned_range") ? VarianceType.LEARNED_RANGE : VarianceType.FIXED_SMALL_LOG;
        boolean clip = r.bool("clip_sample", DEFAULTS.clipSample);
        double range = r.number("clip_sample_range", DEFAULTS.clipSampleRange);
        if (!(range > 0 && range < Float.MAX_VALUE)) {
            throw r.unsupported("clip_sample_range", String.valueOf(range), "a positive float32 number");
        }
        PredictionType prediction = r.choice("prediction_type", "epsilon", "epsilon", "sample").equals("sample")
                ? PredictionType.SAMPLE : PredictionType.EPSILON;
        r.choice("beta_schedule", "squaredcos_cap_v2", "squaredcos_cap_v2");
        // A key diffusers 0.20's UnCLIPScheduler does not have is harmless only when it is null.
        for (String key : r.unreadKeys()) if (!r.has(key)) r.ignore(key);
        r.rejectUnreadKeys();
        return new UnCLIPSchedulerConfig(steps, variance, clip, range, prediction);
    }
}
