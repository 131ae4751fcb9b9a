package dev.unclip4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.image.RgbImage;
import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;
import dev.unclip4j.pipeline.UnclipModel;
import dev.unclip4j.pipeline.UnclipPipeline;
import dev.unclip4j.tensor.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The held-out evaluation images made by unclip4j, exactly as training/generate_reference.py eval
 * makes them with diffusers (batches of 10 prompts, batch k seeded with seed + k, the pipeline's
 * defaults), into a folder that training/evaluate.py judges:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.unclip4j.bench.EvalImages \
 *     models/unclip-shapes-tiny training/eval/prompts.jsonl /tmp/gen-unclip4j [seed] [batch]
 * </pre>
 */
public final class EvalImages {
    private EvalImages() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: EvalImages MODEL PROMPTS.jsonl OUT [seed=0] [batch=10]");
            System.exit(2);
        }
        Path model = Path.of(args[0]), prompts = Path.of(args[1]), out = Path.of(args[2]);
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 0;
        int batch = args.length > 4 ? Integer.parseInt(args[4]) : 10;
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(prompts)) if (!line.isBlank()) rows.add(json.readTree(line));
        Files.createDirectories(out);
        Files.copy(prompts, out.resolve("prompts.jsonl"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        long t0 = System.nanoTime();
        try (Backend cpu = Backend.cpu(); UnclipModel m = UnclipModel.load(model, cpu, DType.F32);
             UnclipPipeline p = new UnclipPipeline(m)) {
            for (int k = 0; k < rows.size(); k += batch) {
                List<JsonNode> chunk = rows.subList(k, Math.min(rows.size(), k + batch));
                TextToImage request = new TextToImage(chunk.stream().map(r -> r.get("prompt").asText()).toList(), null, 1,
                        TextToImage.PRIOR_STEPS, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                        TextToImage.PRIOR_GUIDANCE, TextToImage.DECODER_GUIDANCE, Seeds.of(seed + k / batch));
                List<RgbImage> images = p.textToImage(request, UnclipPipeline.Progress.NONE).images();
                for (int i = 0; i < chunk.size(); i++) images.get(i).writePng(out.resolve(chunk.get(i).get("file").asText()));
                System.out.printf("%d/%d images (%.0f s)%n", k + chunk.size(), rows.size(), (System.nanoTime() - t0) / 1e9);
            }
        }
    }
}
