package dev.unclip4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.launcher.JavaModuleOptions;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** The JVM options file is Spark's own list, and a SparkSession starts with it on this JVM. */
class SparkJavaOptionsTest {
    @Test
    void theOptionsFileHoldsEveryOptionSparkStartsItsJvmsWith() throws IOException {
        List<String> ours = Files.readAllLines(Path.of("java-options")).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        List<String> missing = new ArrayList<>(List.of(JavaModuleOptions.defaultModuleOptionArray()));
        missing.removeAll(ours);
        assertEquals(List.of(), missing, "options of Spark's JavaModuleOptions missing from spark/java-options");
    }

    @Test
    void aSessionRuns() {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("smoke").getOrCreate();
        try {
            assertEquals(10, spark.range(10).count());
            assertTrue(Runtime.version().feature() >= 25);
        } finally {
            spark.stop();
        }
    }
}
