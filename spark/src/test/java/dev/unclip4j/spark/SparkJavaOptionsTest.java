package dev.unclip4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;

/** The JVM options file is Spark's own list (the other tests start their SparkSessions with it). */
class SparkJavaOptionsTest {
    @Test
    void theOptionsFileHoldsEveryOptionSparkStartsItsJvmsWith() throws IOException {
        List<String> ours = Files.readAllLines(Path.of("java-options")).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        List<String> missing = new ArrayList<>(List.of(JavaModuleOptions.defaultModuleOptionArray()));
        missing.removeAll(ours);
        assertEquals(List.of(), missing, "options of Spark's JavaModuleOptions missing from spark/java-options");
    }
}
