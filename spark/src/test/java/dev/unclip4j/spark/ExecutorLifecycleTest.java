package dev.unclip4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.api.Unclip;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executor's model outlives its tasks and is closed when the executor stops (here: the local session). */
class ExecutorLifecycleTest {
    @Test
    void theModelIsClosedWhenTheExecutorStops(@TempDir Path dir) throws IOException {
        SparkSession.Builder b = SparkSession.builder().master("local[2]").appName("ExecutorLifecycleTest")
                .config("spark.ui.enabled", "false");
        SparkJob.sessionSettings(Map.of(), false).forEach(b::config);
        SparkSession spark = b.getOrCreate();
        ExecutorModels.Key key = new ExecutorModels.Key(Unclip.builtInModel().toString(), "cpu", 1);
        Unclip model;
        try {
            Path texts = dir.resolve("texts.csv");
            Files.write(texts, List.of("text", "a red circle", "a blue square", "a green triangle"));
            StringWriter out = new StringWriter(), err = new StringWriter();
            int status = SparkJob.run(new String[] {"embed", "--input", texts.toString(), "--text-column", "text",
                    "--threads", "1", "--batch", "1", "--output", dir.resolve("out").toString()}, new PrintWriter(out),
                    new PrintWriter(err));
            assertEquals(0, status, err.toString());
            assertTrue(ExecutorModels.open().contains(key), "the executor keeps its model between tasks");
            long loads = ExecutorModels.loads();
            model = ExecutorModels.get(key);
            assertEquals(loads, ExecutorModels.loads(), "the same model, not loaded again");
            assertSame(model, ExecutorModels.get(key));
        } finally {
            spark.stop();
        }
        assertTrue(ExecutorModels.open().isEmpty(), "the executor plugin closed the models: " + ExecutorModels.open());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.embedText("a red circle", false));
        assertEquals("this Unclip is closed", e.getMessage());
    }
}
