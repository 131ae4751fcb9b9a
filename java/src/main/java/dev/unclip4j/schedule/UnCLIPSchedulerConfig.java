package dev.unclip4j.schedule;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.io.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

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
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

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
        JsonNode json;
        try {
            json = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new WeightFormatException(file + ": no such file");
        } catch (IOException e) {
            throw new WeightFormatException(file + ": malformed JSON: " + e.getMessage(), e);
        }
        return read(file.toString(), json);
    }

    /** Reads config JSON already parsed; {@code where} names it in errors. */
    public static UnCLIPSchedulerConfig read(String where, JsonNode json) {
        if (json == null || !json.isObject()) throw new WeightFormatException(where + ": not a JSON object");
        int steps = DEFAULTS.numTrainTimesteps;
        VarianceType variance = DEFAULTS.varianceType;
        boolean clip = DEFAULTS.clipSample;
        double range = DEFAULTS.clipSampleRange;
        PredictionType prediction = DEFAULTS.predictionType;
        for (Map.Entry<String, JsonNode> e : json.properties()) {
            String key = e.getKey();
            JsonNode v = e.getValue();
            switch (key) {
                case "_class_name" -> {
                    if (!"UnCLIPScheduler".equals(text(where, key, v))) throw unsupported(where, key, v, "UnCLIPScheduler");
                }
                case "_diffusers_version" -> text(where, key, v);
                case "num_train_timesteps" -> {
                    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 2) throw bad(where, key, v, "an integer of at least 2");
                    steps = v.intValue();
                }
                case "variance_type" -> variance = switch (text(where, key, v)) {
                    case "fixed_small_log" -> VarianceType.FIXED_SMALL_LOG;
                    case "learned_range" -> VarianceType.LEARNED_RANGE;
                    default -> throw unsupported(where, key, v, "fixed_small_log, learned_range");
                };
                case "clip_sample" -> {
                    if (!v.isBoolean()) throw bad(where, key, v, "true or false");
                    clip = v.booleanValue();
                }
                case "clip_sample_range" -> {
                    if (!v.isNumber() || !(v.doubleValue() > 0 && v.doubleValue() < Float.MAX_VALUE)) {
                        throw bad(where, key, v, "a positive number");
                    }
                    range = v.doubleValue();
                }
                case "prediction_type" -> prediction = switch (text(where, key, v)) {
                    case "epsilon" -> PredictionType.EPSILON;
                    case "sample" -> PredictionType.SAMPLE;
                    default -> throw unsupported(where, key, v, "epsilon, sample");
                };
                case "beta_schedule" -> {
                    if (!"squaredcos_cap_v2".equals(text(where, key, v))) throw unsupported(where, key, v, "squaredcos_cap_v2");
                }
                default -> {
                    // diffusers drops private keys ("_name_or_path", "_use_default_values") before building the scheduler
                    if (key.startsWith("_") || v.isNull()) continue;
                    throw new WeightFormatException(where + ": unknown key '" + key + "' with value " + v
                            + " (diffusers 0.20's UnCLIPScheduler has no such setting)");
                }
            }
        }
        return new UnCLIPSchedulerConfig(steps, variance, clip, range, prediction);
    }

    private static String text(String where, String key, JsonNode v) {
        if (!v.isTextual()) throw bad(where, key, v, "a string");
        return v.textValue();
    }

    private static WeightFormatException bad(String where, String key, JsonNode v, String what) {
        return new WeightFormatException(where + ": '" + key + "' must be " + what + ", not " + v);
    }

    private static WeightFormatException unsupported(String where, String key, JsonNode v, String supported) {
        return new WeightFormatException(where + ": unsupported '" + key + "' value " + v + " (supported: " + supported + ")");
    }
}
