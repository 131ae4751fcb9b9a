package dev.unclip4j.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's text clean-up before BPE, as openai/CLIP's {@code simple_tokenizer.py} does it:
 * {@code whitespace_clean(basic_clean(text)).lower()} where basic_clean is
 * {@code ftfy.fix_text}, then Python's {@code html.unescape} twice, then {@code strip()}.
 *
 * <p>The ftfy part is a port of {@code ftfy.fix_text}'s default fixers (ftfy 6.3) except the
 * mojibake detector ({@code fix_encoding}), which needs ftfy's statistical tables: text is split
 * into lines, and each line is fixed until it no longer changes by unescape_html (HTML5 entities
 * ending in ';' and the upper-case Latin ones; off from the first line holding '<' on),
 * fix_c1_controls (C1 as windows-1252), fix_latin_ligatures, fix_character_width (fullwidth and
 * halfwidth forms, U+3000), uncurl_quotes, fix_line_breaks, fix_surrogates,
 * remove_terminal_escapes, remove_control_chars and NFC. Text that is mojibake (UTF-8 decoded as
 * Latin-1/windows-1252, "cafÃ©") is therefore left as it is where ftfy would repair it; any other
 * text comes out as ftfy leaves it. {@code html.unescape} is ported exactly (the HTML5 table, the
 * windows-1252 numeric references, the longest-prefix rule for names without ';').
 */
public final class ClipTextCleaner {
    private ClipTextCleaner() {}

    private static final Pattern CHARREF = Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    private static final Pattern FTFY_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");
    private static final Pattern ANSI = Pattern.compile("\u001b\\[((?:\\d|;)*)([a-zA-Z])");
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    /** Python's html._invalid_charrefs (numeric references in 0x80..0x9f are windows-1252). */
    private static final String[] C1_AS_CP1252 = {
        "\u20ac", "\u0081", "\u201a", "\u0192", "\u201e", "\u2026", "\u2020", "\u2021",
        "\u02c6", "\u2030", "\u0160", "\u2039", "\u0152", "\u008d", "\u017d", "\u008f",
        "\u0090", "\u2018", "\u2019", "\u201c", "\u201d", "\u2022", "\u2013", "\u2014",
        "\u02dc", "\u2122", "\u0161", "\u203a", "\u0153", "\u009d", "\u017e", "\u0178"};

    // After the patterns and tables above: building FTFY_ENTITIES runs htmlUnescape.
    private static final Map<String, String> HTML5 = loadEntities();
    /** ftfy's HTML_ENTITIES: "&name;" for names ending in ';', and upper-cased Latin ones. */
    private static final Map<String, String> FTFY_ENTITIES = ftfyEntities();

    /** The whole clean-up: ftfy-like fix, html.unescape twice, strip, whitespace collapse, lower case. */
    public static String clean(String text) {
        String t = pyStrip(htmlUnescape(htmlUnescape(fixText(text))));
        t = pyStrip(WHITESPACE.matcher(t).replaceAll(" "));
        return pyLower(t);
    }

    /**
     * Python's {@code str.lower()}. Java's {@code toLowerCase(Locale.ROOT)} applies the same full
     * mappings but decides the final-sigma context differently (it looks back past characters
     * that are not case-ignorable, e.g. "a—Σ" gives ς where Python gives σ), so a capital sigma is
     * lowered here by CPython's handle_capital_sigma rule: ς when preceded by a cased character
     * and case-ignorable ones only, and not followed by case-ignorable ones then a cased one.
     */
    static String pyLower(String s) {
        if (s.indexOf('\u03a3') < 0) return s.toLowerCase(Locale.ROOT);
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (i < s.length()) {
            int sigma = s.indexOf('\u03a3', i);
            if (sigma < 0) {
                out.append(s.substring(i).toLowerCase(Locale.ROOT));
                break;
            }
            // Each code point alone, so Java's own sigma context never applies.
            for (int j = i; j < sigma; ) {
                int cp = s.codePointAt(j);
                out.append(Character.toString(cp).toLowerCase(Locale.ROOT));
                j += Character.charCount(cp);
            }
            out.append(finalSigma(s, sigma) ? '\u03c2' : '\u03c3');
            i = sigma + 1;
        }
        return out.toString();
    }

    private static boolean finalSigma(String s, int i) {
        int j = i, c = 0;
        boolean found = false;
        while (j > 0) {
            c = s.codePointBefore(j);
            j -= Character.charCount(c);
            if (!isCaseIgnorable(c)) {
                found = true;
                break;
            }
        }
        if (!found || !isCased(c)) return false;
        for (int k = i + 1; k < s.length(); ) {
            int d = s.codePointAt(k);
            if (!isCaseIgnorable(d)) return !isCased(d);
            k += Character.charCount(d);
        }
        return true;
    }

    /** Unicode's Cased: Lowercase, Uppercase (both with their Other_ parts) or titlecase letters. */
    private static boolean isCased(int c) {
        return Character.isLowerCase(c) || Character.isUpperCase(c) || Character.isTitleCase(c);
    }

    /** Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter/MidNumLet/Single_Quote. */
    private static boolean isCaseIgnorable(int c) {
        switch (Character.getType(c)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT, Character.MODIFIER_LETTER,
                 Character.MODIFIER_SYMBOL -> {
                return true;
            }
            default -> {
                return switch (c) {
                    case 0x27, 0x2e, 0x3a, 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024, 0x2027, 0xfe13, 0xfe52,
                         0xfe55, 0xff07, 0xff0e, 0xff1a -> true;
                    default -> false;
                };
            }
        }
    }

    // ---- ftfy.fix_text without fix_encoding ------------------------------------------------------

    /** ftfy.fix_text's default fixers, without the mojibake detector (see the class comment). */
    public static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescape = true;
        int pos = 0;
        while (pos < text.length()) {
            int nl = text.indexOf('\n', pos);
            int end = nl < 0 ? text.length() : nl + 1;
            String segment = text.substring(pos, end);
            if (segment.indexOf('<') >= 0) unescape = false;
            out.append(fixSegment(segment, unescape));
            pos = end;
        }
        return out.toString();
    }

    private static String fixSegment(String text, boolean unescape) {
        while (true) {
            String orig = text;
            if (unescape) text = ftfyUnescape(text);
            text = fixC1Controls(text);
            text = fixLigaturesAndWidth(text);
            text = uncurlQuotes(text);
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
                    .replace("\u2029", "\n").replace("\u0085", "\n");
            text = fixSurrogates(text);
            text = ANSI.matcher(text).replaceAll("");
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(orig)) return text;
        }
    }

    private static String ftfyUnescape(String text) {
        if (text.indexOf('&') < 0) return text;
        Matcher m = FTFY_ENTITY.matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String e = m.group();
            String r = FTFY_ENTITIES.get(e);
            if (r == null) {
                r = e;
                if (e.startsWith("&#")) {
                    String u = htmlUnescape(e);
                    r = u.indexOf(';') >= 0 ? e : u;
                }
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(r));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static String fixC1Controls(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && c <= 0x9f) {
                if (sb == null) sb = new StringBuilder(text.substring(0, i));
                sb.append(C1_AS_CP1252[c - 0x80]);
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? text : sb.toString();
    }

    private static String fixLigaturesAndWidth(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        boolean changed = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String r = switch (c) {
                case '\u0132' -> "IJ";
                case '\u0133' -> "ij";
                case '\u0149' -> "\u02bcn";
                case '\u01f1' -> "DZ";
                case '\u01f2' -> "Dz";
                case '\u01f3' -> "dz";
                case '\u01c4' -> "D\u017d";
                case '\u01c5' -> "D\u017e";
                case '\u01c6' -> "d\u017e";
                case '\u01c7' -> "LJ";
                case '\u01c8' -> "Lj";
                case '\u01c9' -> "lj";
                case '\u01ca' -> "NJ";
                case '\u01cb' -> "Nj";
                case '\u01cc' -> "nj";
                case '\ufb00' -> "ff";
                case '\ufb01' -> "fi";
                case '\ufb02' -> "fl";
                case '\ufb03' -> "ffi";
                case '\ufb04' -> "ffl";
                case '\ufb05' -> "\u017ft";
                case '\ufb06' -> "st";
                case '\u3000' -> " ";
                default -> {
                    if (c >= 0xff01 && c < 0xfff0) {
                        String n = Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC);
                        yield n.equals(String.valueOf(c)) ? null : n;
                    }
                    yield null;
                }
            };
            if (r == null) {
                sb.append(c);
            } else {
                sb.append(r);
                changed = true;
            }
        }
        return changed ? sb.toString() : text;
    }

    private static String uncurlQuotes(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u02bc' || (c >= '\u2018' && c <= '\u201b')) sb.append('\'');
            else if (c >= '\u201c' && c <= '\u201f') sb.append('"');
            else sb.append(c);
        }
        return sb.toString();
    }

    private static String fixSurrogates(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                sb.append(c).append(text.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                sb.append('\ufffd');
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static boolean isRemovedControl(int c) {
        return (c >= 0x00 && c < 0x09) || c == 0x0b || (c >= 0x0e && c < 0x20) || c == 0x7f
                || (c >= 0x206a && c < 0x2070) || c == 0xfeff || (c >= 0xfff9 && c < 0xfffd);
    }

    private static String removeControlChars(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!isRemovedControl(c)) sb.append(c);
        }
        return sb.toString();
    }

    // ---- Python's html.unescape --------------------------------------------------------------

    /** Python's {@code html.unescape}, exactly. */
    public static String htmlUnescape(String s) {
        if (s.indexOf('&') < 0) return s;
        Matcher m = CHARREF.matcher(s);
        StringBuilder sb = new StringBuilder(s.length());
        while (m.find()) m.appendReplacement(sb, Matcher.quoteReplacement(replaceCharref(m.group(1))));
        m.appendTail(sb);
        return sb.toString();
    }

    private static String replaceCharref(String s) {
        if (s.charAt(0) == '#') {
            boolean hex = s.charAt(1) == 'x' || s.charAt(1) == 'X';
            String digits = s.substring(hex ? 2 : 1);
            if (digits.endsWith(";")) digits = digits.substring(0, digits.length() - 1);
            long num;
            try {
                num = Long.parseLong(digits, hex ? 16 : 10);
            } catch (NumberFormatException e) {
                num = Long.MAX_VALUE;  // beyond any code point
            }
            if (num == 0x00) return "\ufffd";
            if (num == 0x0d) return "\r";
            if (num >= 0x80 && num <= 0x9f) return C1_AS_CP1252[(int) num - 0x80];
            if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
            if (isInvalidCodepoint((int) num)) return "";
            return Character.toString((int) num);
        }
        String v = HTML5.get(s);
        if (v != null) return v;
        int cps = s.codePointCount(0, s.length());
        for (int x = cps - 1; x > 1; x--) {
            int cut = s.offsetByCodePoints(0, x);
            v = HTML5.get(s.substring(0, cut));
            if (v != null) return v + s.substring(cut);
        }
        return "&" + s;
    }

    private static boolean isInvalidCodepoint(int c) {
        return (c >= 0x1 && c <= 0x8) || (c >= 0xe && c <= 0x1f) || (c >= 0x7f && c <= 0x9f)
                || (c >= 0xfdd0 && c <= 0xfdef) || c == 0xb || (c & 0xfffe) == 0xfffe;
    }

    /** Python's {@code str.strip()}: Unicode whitespace (str.isspace) at both ends. */
    static String pyStrip(String s) {
        int b = 0, e = s.length();
        while (b < e && pyIsSpace(s.codePointAt(b))) b += Character.charCount(s.codePointAt(b));
        while (e > b && pyIsSpace(s.codePointBefore(e))) e -= Character.charCount(s.codePointBefore(e));
        return s.substring(b, e);
    }

    private static boolean pyIsSpace(int c) {
        return Character.isWhitespace(c) || c == 0x85 || c == 0xa0 || c == 0x2007 || c == 0x202f;
    }

    private static Map<String, String> loadEntities() {
        Map<String, String> m = new HashMap<>(4096);
        try (InputStream in = ClipTextCleaner.class.getResourceAsStream("html5_entities.tsv")) {
            if (in == null) throw new IllegalStateException("html5_entities.tsv is missing from the class path");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                int tab = line.indexOf('\t');
                StringBuilder v = new StringBuilder();
                for (String hex : line.substring(tab + 1).split(" ")) v.appendCodePoint(Integer.parseInt(hex, 16));
                m.put(line.substring(0, tab), v.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }

    private static Map<String, String> ftfyEntities() {
        Map<String, String> m = new HashMap<>(4096);
        for (Map.Entry<String, String> e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) continue;
            m.put("&" + name, e.getValue());
            if (name.equals(name.toLowerCase(Locale.ROOT))) {
                String upper = "&" + name.toUpperCase(Locale.ROOT);
                if (htmlUnescape(upper).equals(upper)) m.put(upper, e.getValue().toUpperCase(Locale.ROOT));
            }
        }
        return m;
    }
}
