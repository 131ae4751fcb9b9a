package dev.unclip4j.cli;

import static dev.unclip4j.cli.Cli.fast;
import static dev.unclip4j.cli.Cli.fastDecoder;
import static dev.unclip4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.image.RgbImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every image-making command end to end, in-process, on the built-in model (128 px) with two
 * steps a stage, and once on the tiny fixture model: exit status, the files written (count,
 * size, readable), the recipe each PNG carries, the plain progress lines of a non-terminal.
 */
class CliPipelineTest {
    static final String PROMPT = "a small red circle at the top left on a blue background";
    /** "prior  2/2   0.03 s": a plain progress line. */
    static final Pattern PROGRESS_LINE = Pattern.compile("(?m)^(prior|decoder|super-res) +\\d+/\\d+ +\\d+\\.\\d\\d s$");

    @TempDir
    Path dir;

    @Test
    void generateWritesOnePngWithItsRecipeAndShowsProgressAndTimes() {
        Path out = dir.resolve("out.png");
        Cli.Run r = run(fast("generate", PROMPT, "--seed", "7", "-o", out.toString()));
        assertEquals(0, r.status(), r.err());
        assertEquals(out + "\n", r.out());
        RgbImage img = RgbImage.read(out);
        assertEquals(128, img.width());
        assertEquals(128, img.height());
        // progress: plain lines, each stage to 2/2, then the stage times
        assertEquals(6, PROGRESS_LINE.matcher(r.err()).results().count(), r.err());
        assertTrue(r.err().contains("super-res   2/2"), r.err());
        assertTrue(r.err().matches("(?s).*stage times: text [\\d.]+ s, prior [\\d.]+ s, decoder [\\d.]+ s, super-res [\\d.]+ s, "
                + "total [\\d.]+ s\\n"), r.err());

        Map<String, String> recipe = RgbImage.readPngText(out);
        assertEquals(PROMPT, recipe.get("prompt"));
        assertEquals("7", recipe.get("seed"));
        assertEquals("prior 2, decoder 2, super-res 2", recipe.get("steps"));
        assertEquals("prior 4.0, decoder 8.0", recipe.get("guidance"));
        assertEquals("models/unclip-shapes-tiny (built-in)", recipe.get("model"));
        assertTrue(recipe.get("Software").matches("unclip4j \\d+\\.\\d+\\.\\d+.*"), recipe.toString());
        assertEquals("unclip generate --seed 7 --prior-steps 2 --decoder-steps 2 --super-res-steps 2 --prior-guidance 4.0 "
                + "--decoder-guidance 8.0 '" + PROMPT + "'", recipe.get("command"));

        // info IMAGE.png prints it back
        Cli.Run info = run("info", out.toString());
        assertEquals(0, info.status(), info.err());
        for (var e : recipe.entrySet()) assertTrue(info.out().contains(e.getKey() + ": " + e.getValue()), info.out());
        noLeftovers();
    }

    @Test
    void severalImagesAreNumberedAndEachIsItsSeedAlone() {
        Path out = dir.resolve("img.png");
        Cli.Run r = run(fast("generate", PROMPT, "-n", "2", "--seed", "5", "-o", out.toString(), "--quiet"));
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err(), "--quiet prints no progress and no times");
        List<Path> files = List.of(dir.resolve("img-0.png"), dir.resolve("img-1.png"));
        assertEquals(files.get(0) + "\n" + files.get(1) + "\n", r.out());
        assertEquals("6", RgbImage.readPngText(files.get(1)).get("seed"));
        // The recipe's seed makes the second image again on its own.
        Path alone = dir.resolve("alone.png");
        assertEquals(0, run(fast("generate", PROMPT, "--seed", "6", "-o", alone.toString(), "--quiet")).status());
        assertArrayEquals(RgbImage.read(alone).rgb(), RgbImage.read(files.get(1)).rgb());
    }

    @Test
    void promptsFromAFileMakeAGridOfAllTheirImages() throws IOException {
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "a red circle\n\na blue square\n");
        Path out = dir.resolve("grid.png");
        Cli.Run r = run(fast("generate", "--prompts", prompts.toString(), "-n", "2", "--grid", "-o", out.toString()));
        assertEquals(0, r.status(), r.err());
        RgbImage grid = RgbImage.read(out);
        assertEquals(256, grid.width(), "two images a row");
        assertEquals(256, grid.height(), "a row per prompt");
        Map<String, String> recipe = RgbImage.readPngText(out);
        assertEquals("a red circle\na blue square", recipe.get("prompt"));
        assertTrue(recipe.get("command").endsWith("-n 2 --grid --prompts " + prompts), recipe.get("command"));
        assertEquals(1, fileCount(), "one grid, no other file");
    }

    @Test
    void variationsWriteNImagesOfTheModelsSize() {
        Path input = generated();
        Cli.Run r = run(fastDecoder("variations", input.toString(), "-n", "2", "--seed", "3", "-o", dir.resolve("v.png").toString()));
        assertEquals(0, r.status(), r.err());
        for (int i = 0; i < 2; i++) {
            Path f = dir.resolve("v-" + i + ".png");
            assertEquals(128, RgbImage.read(f).width());
            Map<String, String> recipe = RgbImage.readPngText(f);
            assertEquals(input.toString(), recipe.get("image"));
            assertEquals(Integer.toString(3 + i), recipe.get("seed"));
        }
    }

    @Test
    void interpolateBetweenPromptsWritesFramesAStripOrAGif() throws IOException {
        String[] ends = {"a red circle", "a blue square"};
        Cli.Run r = run(fast("interpolate", ends[0], ends[1], "--frames", "3", "-o", dir.resolve("f.png").toString()));
        assertEquals(0, r.status(), r.err());
        for (int i = 0; i < 3; i++) {
            Map<String, String> recipe = RgbImage.readPngText(dir.resolve("f-" + i + ".png"));
            assertEquals(i + " of 3", recipe.get("frame"));
            assertEquals("a red circle → a blue square", recipe.get("prompt"));
        }
        r = run(fast("interpolate", ends[0], ends[1], "--frames", "2", "--grid", "-o", dir.resolve("strip.png").toString()));
        assertEquals(0, r.status(), r.err());
        assertEquals(2 * 128, RgbImage.read(dir.resolve("strip.png")).width());
        // the same frames as one animated GIF
        Path gif = dir.resolve("anim.gif");
        r = run(fast("interpolate", ends[0], ends[1], "--frames", "2", "--fixed-noise", "-o", gif.toString()));
        assertEquals(0, r.status(), r.err());
        assertEquals(gif + "\n", r.out());
        try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
            ImageReader reader = ImageIO.getImageReaders(in).next();
            reader.setInput(in);
            assertEquals("gif", reader.getFormatName().toLowerCase());
            assertEquals(2, reader.getNumImages(true));
            assertEquals(128, reader.read(1).getWidth());
        }
    }

    @Test
    void interpolateBetweenImagesAndEditWriteTheirFrames() throws IOException {
        Path a = generated(), b = dir.resolve("b.png");
        Files.copy(a, b);
        Cli.Run r = run(fastDecoder("interpolate", a.toString(), b.toString(), "--frames", "2", "-o", dir.resolve("ab.png").toString()));
        assertEquals(0, r.status(), r.err());
        assertEquals(a.toString(), RgbImage.readPngText(dir.resolve("ab-1.png")).get("image A"));

        r = run(fastDecoder("edit", a.toString(), "--from", "a red circle", "--to", "a green circle", "--frames", "2", "-o",
                dir.resolve("e.png").toString()));
        assertEquals(0, r.status(), r.err());
        Map<String, String> recipe = RgbImage.readPngText(dir.resolve("e-1.png"));
        assertEquals("a red circle → a green circle", recipe.get("prompt"));
        assertEquals("1 of 2", recipe.get("frame"));
        assertTrue(recipe.get("command").contains("--from 'a red circle' --to 'a green circle'"), recipe.get("command"));
        assertEquals(128, RgbImage.read(dir.resolve("e-0.png")).height());
    }

    @Test
    void aModelFolderOfOtherSizesWorksToo() {
        Path out = dir.resolve("tiny.png");
        Cli.Run r = run(fast("generate", "a cat", "--model", Cli.tinyModel().toString(), "-o", out.toString(), "--threads", "1"));
        assertEquals(0, r.status(), r.err());
        assertEquals(32, RgbImage.read(out).width(), "the tiny model's super-resolution sample_size");
        assertEquals(Cli.tinyModel().toAbsolutePath().normalize().toString(), RgbImage.readPngText(out).get("model"));
        assertTrue(RgbImage.readPngText(out).get("command").contains("--model " + Cli.tinyModel().toAbsolutePath().normalize()));
    }

    @Test
    void infoDescribesTheMachineAndAModel() {
        Cli.Run r = run("info", "--model", Cli.tinyModel().toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("cpu:  "), r.out());
        assertTrue(r.out().contains("libunclip_cpu.so, ABI 1"), r.out());
        assertTrue(r.out().contains("OpenMP threads") && r.out().contains("kernels"), r.out());
        assertTrue(r.out().contains("kernels: uc_add"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("  decoder +[\\d,]+ f16 +UNet2DConditionModel: .*sample_size 16.*")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("  total +[\\d,]+ parameters")), r.out());
        assertTrue(r.out().contains("  tokenizer"), r.out());
    }

    @Test
    void everyCommandsHelpNamesTheIssuesFlags() {
        List<String> model = List.of("--model=DIR", "--device=", "--seed=S", "-o, --output=FILE.png");
        List<String> decoder = List.of("--decoder-steps=N", "--super-res-steps=N", "--decoder-guidance=G");
        List<String> prior = List.of("--prior-steps=N", "--prior-guidance=G");
        Map<String, List<List<String>>> flags = Map.of(
                "generate", List.of(model, decoder, prior, List.of("-n=N", "--threads=T", "--grid", "--prompts=FILE", "[PROMPT]")),
                "variations", List.of(model, decoder, List.of("-n=N", "IMAGE")),
                "interpolate", List.of(model, decoder, prior, List.of("--frames=K", "--fixed-noise", "--grid", " A B")),
                "edit", List.of(model, decoder, List.of("--frames=K", "--from=TEXT", "--to=TEXT", "--grid", "IMAGE")),
                "info", List.of(List.of("--model=DIR", "[IMAGE.png]")),
                "classify", List.of(List.of("--model=DIR", "--template=T", "IMAGE", "LABEL...")),
                "embed", List.of(List.of("--model=DIR", "--text=T", "--image=FILE")));
        flags.forEach((command, groups) -> {
            Cli.Run r = run(command, "--help");
            assertEquals(0, r.status(), command + ": " + r.err());
            for (List<String> group : groups) {
                for (String flag : group) assertTrue(r.out().contains(flag), command + " --help lacks " + flag + ":\n" + r.out());
            }
        });
    }

    private Path generated() {
        Path p = dir.resolve("input.png");
        Cli.Run r = run(fast("generate", PROMPT, "-o", p.toString(), "--quiet"));
        assertEquals(0, r.status(), r.err());
        return p;
    }

    private long fileCount() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().equals("prompts.txt")).count();
        }
    }

    private void noLeftovers() {
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".part")), "a temporary file was left behind");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
