package dev.unclip4j.pipeline;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unclip4j.tensor.Backend;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pipeline fixtures on CUDA in float32, with {@link PipelineParityTest}'s bounds. Skipped
 * without a device. NOT YET RUN ON A GPU.
 */
@Tag("gpu")
class PipelineCudaParityTest {
    private static Backend cuda;

    @BeforeAll
    static void open() {
        String reason = Backend.cudaUnavailableReason();
        assumeTrue(reason == null, "no CUDA backend: " + reason);
        cuda = Backend.cuda(0);
    }

    @AfterAll
    static void close() {
        if (cuda == null) return;
        PipelineParityTest.closeAll();
        cuda.close();
    }

    @ParameterizedTest
    @MethodSource("dev.unclip4j.pipeline.PipelineParityTest#cases")
    void matchesDiffusers(String name) throws IOException {
        PipelineParityTest.check(name, cuda);
    }
}
