package dev.unclip4j.example;

// README-BEGIN
import dev.unclip4j.api.Request;
import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import java.nio.file.Path;

public class ReadmeExample {
    public static void main(String[] args) {
        // One model, shared by every thread of the program; requests queue.
        try (Unclip unclip = Unclip.builder(Unclip.builtInModel()).device("auto").build()) {
            Request request = Request.of("a small red circle at the top left on a blue background")
                    .withSeed(42);                    // and withImagesPerPrompt, withSteps, withGuidance
            Result result = unclip.generate(request,
                    (stage, step, steps) -> System.out.println(stage + " " + step + "/" + steps));
            result.images().getFirst().writePng(Path.of("circle.png"));
            System.out.println(result.stageTimes());  // {text=PT0.07S, prior=PT0.1S, decoder=PT0.55S, super-res=PT0.63S}
        }
    }
}
// README-END
