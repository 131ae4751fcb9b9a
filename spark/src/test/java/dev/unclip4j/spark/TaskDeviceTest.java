package dev.unclip4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which device a task's model runs on: Spark's GPU address mapped to a CUDA ordinal, else the
 * CPU. (Spark's local mode offers no GPUs to its tasks, even with a discovery script: a task that
 * asked for one was never scheduled, so the assignment itself is not tested here; SparkJobTest checks
 * that a CPU executor's tasks run on the CPU.)
 */
class TaskDeviceTest {
    @Test
    void autoIsTheAssignedGpuElseTheCpu() {
        assertEquals("cpu", TaskDevice.resolve("auto", List.of(), null));
        assertEquals("cuda:1", TaskDevice.resolve("auto", List.of("1"), null));
        assertEquals("cuda:2", TaskDevice.resolve("auto", List.of("2", "3"), ""), "the first of several, a blank variable ignored");
        // Named devices are taken as they are, with or without a GPU from Spark.
        assertEquals("cpu", TaskDevice.resolve("cpu", List.of("1"), null));
        assertEquals("cuda:0", TaskDevice.resolve("cuda:0", List.of(), null));
    }

    @Test
    void cudaVisibleDevicesRenumbersTheGpus() {
        // nvidia-smi's index 5 is CUDA's device 1 when only 4 and 5 are visible.
        assertEquals("cuda:1", TaskDevice.resolve("auto", List.of("5"), "4,5"));
        assertEquals("cuda:0", TaskDevice.resolve("auto", List.of("GPU-8a1c"), "GPU-8a1c, GPU-77f0"));
        IllegalStateException hidden = assertThrows(IllegalStateException.class, () -> TaskDevice.resolve("auto", List.of("2"), "4,5"));
        assertTrue(hidden.getMessage().contains("CUDA_VISIBLE_DEVICES=4,5 does not list"), hidden.getMessage());
        IllegalStateException uuid = assertThrows(IllegalStateException.class, () -> TaskDevice.resolve("auto", List.of("GPU-8a1c"), null));
        assertTrue(uuid.getMessage().contains("not a CUDA device index"), uuid.getMessage());
        assertThrows(IllegalStateException.class, () -> TaskDevice.resolve("auto", List.of("-1"), null));
    }
}
