package dev.unclip4j.api;

import dev.unclip4j.image.RgbImage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a request made: the images (in the request's order), the CLIP image embedding each was
 * decoded from, and the time of each stage ("text", "prior", "decoder", "super-res"; a stage the
 * request does not run is absent).
 */
public record Result(List<RgbImage> images, float[][] imageEmbeddings, Map<String, Duration> stageTimes) {
    public Result {
        images = List.copyOf(images);
        stageTimes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(stageTimes));
    }

    /** The sum of the stage times. */
    public Duration total() {
        return stageTimes.values().stream().reduce(Duration.ZERO, Duration::plus);
    }

    static Result of(dev.unclip4j.pipeline.UnclipPipeline.Result r) {
        Map<String, Duration> times = new LinkedHashMap<>();
        r.stageNanos().forEach((stage, nanos) -> times.put(stage, Duration.ofNanos(nanos)));
        return new Result(r.images(), r.imageEmbeddings(), times);
    }
}
