package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.testing.SharedData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The large random parity check: runs only when -Dunclip.tokenizer.fuzz names the output of
 * tools/reference/fuzz_tokenizer.py (not committed; see that script).
 */
class ClipTokenizerFuzzTest {
    @Test
    void randomPromptsMatchSimpleTokenizer() throws Exception {
        String file = System.getProperty("unclip.tokenizer.fuzz");
        assumeTrue(file != null, "no -Dunclip.tokenizer.fuzz=<tools/reference/fuzz_tokenizer.py output>");
        var bpe = SharedData.find("clip-bpe/bpe_simple_vocab_16e6.txt.gz");
        assumeTrue(bpe.isPresent(), "the CLIP BPE vocabulary ../shared/data/clip-bpe/ is absent");
        ClipTokenizer t = ClipTokenizer.fromOpenAiBpe(bpe.get());
        JsonNode cases = new ObjectMapper().readTree(Path.of(file).toFile()).get("cases");
        List<String> bad = new ArrayList<>();
        for (JsonNode c : cases) {
            int[] want = new int[c.get("ids").size()];
            for (int i = 0; i < want.length; i++) want[i] = c.get("ids").get(i).intValue();
            int[] got = t.encode(c.get("prompt").textValue());
            if (!Arrays.equals(want, got)) {
                StringBuilder cps = new StringBuilder();
                c.get("prompt").textValue().codePoints().forEach(cp -> cps.append(String.format("%04x ", cp)));
                bad.add(cps + "\n  want " + Arrays.toString(want) + "\n  got  " + Arrays.toString(got));
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + cases.size() + " differ:\n"
                + String.join("\n", bad.subList(0, Math.min(20, bad.size()))));
        System.out.println("tokenizer fuzz: " + cases.size() + " prompts, all equal");
    }
}
