// Validate PDF files against a PDF/A flavour with veraPDF's library (validation-model).
// Usage: java -cp CLASSES:LIB/* Validate [--flavour 2b] FILE.pdf...
// Prints one line per failed rule ("FAIL <file> <clause>-<test> <description> [context]")
// and "PASS <file>" or "NOT-COMPLIANT <file>" per file; exit 0 if all pass, 1 if any
// does not, 2 on a usage or read error. The packaged veraPDF application does not
// resolve from Maven Central; the library does, so these few lines stand in for it.
import java.io.FileInputStream;
import java.io.InputStream;
import java.util.HashSet;
import java.util.Set;
import org.verapdf.gf.foundry.VeraGreenfieldFoundryProvider;
import org.verapdf.pdfa.Foundries;
import org.verapdf.pdfa.PDFAParser;
import org.verapdf.pdfa.PDFAValidator;
import org.verapdf.pdfa.flavours.PDFAFlavour;
import org.verapdf.pdfa.results.TestAssertion;
import org.verapdf.pdfa.results.ValidationResult;

public final class Validate {
    public static void main(String[] args) {
        VeraGreenfieldFoundryProvider.initialise();
        PDFAFlavour flavour = PDFAFlavour.fromString("2b");
        int status = 0;
        int first = 0;
        if (args.length >= 2 && args[0].equals("--flavour")) {
            flavour = PDFAFlavour.fromString(args[1]);
            first = 2;
        }
        if (args.length <= first) {
            System.err.println("usage: Validate [--flavour 2b] FILE.pdf...");
            System.exit(2);
        }
        for (int i = first; i < args.length; i++) {
            String path = args[i];
            try (InputStream in = new FileInputStream(path);
                 PDFAParser parser = Foundries.defaultInstance().createParser(in, flavour);
                 PDFAValidator validator = Foundries.defaultInstance().createValidator(flavour, false)) {
                ValidationResult result = validator.validate(parser);
                Set<String> seen = new HashSet<>();
                for (TestAssertion a : result.getTestAssertions()) {
                    if (a.getStatus() != TestAssertion.Status.FAILED) continue;
                    String rule = a.getRuleId().getClause() + "-" + a.getRuleId().getTestNumber();
                    if (!seen.add(rule)) continue;
                    String context = a.getLocation() == null ? "" : " [" + a.getLocation().getContext() + "]";
                    System.out.println("FAIL " + path + " " + rule + " " + a.getMessage().replace('\n', ' ') + context);
                }
                if (result.isCompliant()) {
                    System.out.println("PASS " + path);
                } else {
                    System.out.println("NOT-COMPLIANT " + path);
                    status = Math.max(status, 1);
                }
            } catch (Exception e) {
                System.out.println("ERROR " + path + " " + e);
                status = 2;
            }
        }
        System.exit(status);
    }
}
