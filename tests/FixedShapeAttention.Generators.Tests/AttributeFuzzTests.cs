using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// Mutations of valid <c>[TransformerShape]</c> usages, beyond the every-prefix theory of <see cref="DiagnosticTests"/>:
/// a table of handwritten ones, each with the outcome it must have, and seeded random token edits. Every one must
/// leave the generator alive (no exception, so no CS8785 dropping the user's other output) and must never make the
/// generated files the source of an error or a warning. A mutation that binds to an invalid shape gets its documented
/// FSA id; one that does not bind is left to the compiler, whose errors the table pins as well.
/// </summary>
public sealed class AttributeFuzzTests
{
    private const string Header = "using FixedShapeAttention;\n";

    /// <summary>Separates the files of a mutation that needs two (a partial class declared in both).</summary>
    private const string NextFile = "\n// next file\n";

    private const string Class = "\npublic partial class C { }";

    /// <summary>
    /// Declaration → expected outcome: "generates" (no diagnostic at all, three generated files), or the ids that must
    /// be reported, exactly: FSA ids from the generator and CS ids (errors and warnings) from the compiler. No FSA
    /// id means the generator must stay silent: the compiler already explains what is wrong.
    /// </summary>
    public static TheoryData<string, string> Mutations => new()
    {
        // Valid, if unusual: constant expressions, implicit conversions, other spellings of the attribute.
        { "[TransformerShape(128, 384, 1536, Heads = 12, Causal = true, Activation = Activation.Gelu)]" + Class, "generates" },
        { "[TransformerShape(8, 2 * 8, 4 << 3, Heads = 16 / 4, Causal = true | false)]" + Class, "generates" },
        { "[TransformerShape(Dims.Seq, Dims.Dim, Dims.Ffn, Heads = Dims.Heads)]" + Class + "\npublic static class Dims { public const int Seq = 5, Dim = 6, Ffn = 7, Heads = Dim / 2; }", "generates" },
        { "[TransformerShape(sizeof(int), '\\u0003', (short)12, Heads = (int)Activation.Silu)]" + Class, "generates" },
        { "[TransformerShape(4, 3, 12, Heads = (int)3.9, Activation = 0)]" + Class, "generates" },
        { "[TransformerShape(4, 3, 12, Activation = Activation.Gelu | Activation.GeluTanh)]" + Class, "generates" },
        { "[TransformerShape(4, 3, 12, Heads = int.MaxValue / int.MaxValue, Causal = default, Activation = default)]" + Class, "generates" },
        { "[TransformerShape(ffnDim: 12, embeddingDim: 3, sequenceLength: 4)]" + Class, "generates" },
        { "[TransformerShapeAttribute(4, 3, 12)]" + Class, "generates" },
        { "[global::FixedShapeAttention.TransformerShape(4, 3, 12)]" + Class, "generates" },
        { "[type: TransformerShape(4, 3, 12)]" + Class, "generates" },
        { "[System.Serializable, TransformerShape(4, 3, 12)]\npublic sealed partial class C { }", "generates" },
        { "[TransformerShape(4, 3, 12)]\npublic abstract partial class C { }", "generates" },
        { "[TransformerShape(4, 3, 12)]\npublic partial class C(int value) { public int Value => value; }", "generates" },
        { "[TransformerShape(4, 3, 12)]\npublic partial class C : ITransformerKernels { }", "generates" },
        // A lower-case name draws the compiler's CS8981 on the user's declaration, echoed on the generated one.
        { "[TransformerShape(4, 3, 12)]\npublic partial class model { }", "CS8981" },
        // The documented maxima, all at once: every constant the generator derives from them must still fit an int.
        { "[TransformerShape(8192, 8192, 32768, Heads = 8192)]" + Class, "generates" },

        // Huge, extreme and overflowing values.
        { "[TransformerShape(int.MaxValue, 384, 1536)]" + Class, "FSA0006" },
        { "[TransformerShape(int.MinValue, 384, 1536)]" + Class, "FSA0001" },
        { "[TransformerShape(128, int.MaxValue, 1536)]" + Class, "FSA0006" },
        { "[TransformerShape(128, 384, int.MaxValue)]" + Class, "FSA0006" },
        { "[TransformerShape(128, 384, int.MinValue)]" + Class, "FSA0001" },
        { "[TransformerShape(0x7FFFFFFF, 3, 12)]" + Class, "FSA0006" },
        { "[TransformerShape(unchecked(int.MaxValue + 1), 3, 12)]" + Class, "FSA0001" },
        { "[TransformerShape(checked(int.MaxValue + 1), 3, 12)]" + Class, "CS0220" },
        { "[TransformerShape(99999999999, 3, 12)]" + Class, "CS1503" },
        { "[TransformerShape(-0, 3, 12)]" + Class, "FSA0001" },
        { "[TransformerShape(default, 3, 12)]" + Class, "FSA0001" },
        { "[TransformerShape(0, 0, 0, Heads = 0)]" + Class, "FSA0001 FSA0001 FSA0001 FSA0001" },
        { "[TransformerShape(8193, 8193, 32769)]" + Class, "FSA0006 FSA0006 FSA0006" },
        { "[TransformerShape(128, 0, 1536, Heads = 12)]" + Class, "FSA0001" },
        { "[TransformerShape(128, 384, 1536, Heads = int.MaxValue)]" + Class, "FSA0002" },
        { "[TransformerShape(128, 384, 1536, Heads = int.MinValue)]" + Class, "FSA0001" },
        { "[TransformerShape(128, 384, 1536, Heads = -12)]" + Class, "FSA0001" },
        { "[TransformerShape(128, 384, 1536, Heads = 768)]" + Class, "FSA0002" },
        { "[TransformerShape(128, 384, 1536, Heads = default)]" + Class, "FSA0001" },
        { "[TransformerShape(4, 3, 12, Heads = 'a')]" + Class, "FSA0002" },

        // Activation values outside the enum.
        { "[TransformerShape(4, 3, 12, Activation = (Activation)(-1))]" + Class, "FSA0008" },
        { "[TransformerShape(4, 3, 12, Activation = (Activation)4)]" + Class, "FSA0008" },
        { "[TransformerShape(4, 3, 12, Activation = (Activation)int.MaxValue)]" + Class, "FSA0008" },
        { "[TransformerShape(4, 3, 12, Activation = Activation.Silu + 1)]" + Class, "FSA0008" },
        { "[TransformerShape(4, 3, 12, Activation = ~Activation.Relu)]" + Class, "FSA0008" },
        { "[TransformerShape(0, 3, 12, Activation = (Activation)9)]" + Class, "FSA0001 FSA0008" },

        // Not constant.
        { "[TransformerShape(System.Environment.ProcessorCount, 3, 12)]" + Class, "CS0182" },
        { "[TransformerShape(4, 3, 12, Heads = System.Environment.ProcessorCount)]" + Class, "CS0182" },
        { "[TransformerShape(4, 3, 12, Heads = Dims.Heads)]" + Class + "\npublic static class Dims { public static readonly int Heads = 3; }", "CS0182" },
        { "[TransformerShape(new[] { 4 }[0], 3, 12)]" + Class, "CS0182" },
        { "[TransformerShape(4, 3, 12, Causal = System.DateTime.Now.Second > 30)]" + Class, "CS0182" },

        // Wrong types.
        { "[TransformerShape(\"128\", 384, 1536)]" + Class, "CS1503" },
        { "[TransformerShape(128.0, 384, 1536)]" + Class, "CS1503" },
        { "[TransformerShape(true, 384, 1536)]" + Class, "CS1503" },
        { "[TransformerShape(128L, 384, 1536)]" + Class, "CS1503" },
        { "[TransformerShape(128, null, 1536)]" + Class, "CS1503" },
        { "[TransformerShape(4, 3, 12, Heads = 2.5)]" + Class, "CS0266" },
        { "[TransformerShape(4, 3, 12, Heads = 1e3)]" + Class, "CS0266" },
        { "[TransformerShape(4, 3, 12, Heads = 3u)]" + Class, "CS0266" },
        { "[TransformerShape(4, 3, 12, Heads = \"3\")]" + Class, "CS0029" },
        { "[TransformerShape(4, 3, 12, Heads = true)]" + Class, "CS0029" },
        { "[TransformerShape(4, 3, 12, Heads = null)]" + Class, "CS0037" },
        { "[TransformerShape(4, 3, 12, Heads = typeof(int))]" + Class, "CS0029" },
        { "[TransformerShape(4, 3, 12, Causal = 1)]" + Class, "CS0029" },
        { "[TransformerShape(4, 3, 12, Causal = \"true\")]" + Class, "CS0029" },
        { "[TransformerShape(4, 3, 12, Activation = 1)]" + Class, "CS0266" },
        { "[TransformerShape(4, 3, 12, Activation = \"Gelu\")]" + Class, "CS0029" },
        { "[TransformerShape(4, 3, 12, Activation = Activation.Tanh)]" + Class, "CS0117" },

        // Named arguments twice, misspelled, of the wrong kind or in the wrong place.
        { "[TransformerShape(4, 3, 12, Heads = 3, Heads = 3)]" + Class, "CS0643" },
        { "[TransformerShape(4, 3, 12, Heads = 1, Heads = 5)]" + Class, "CS0643" },
        { "[TransformerShape(4, 3, 12, Causal = true, Causal = false)]" + Class, "CS0643" },
        { "[TransformerShape(4, 3, 12, Activation = Activation.Gelu, Activation = (Activation)42)]" + Class, "CS0643" },
        { "[TransformerShape(4, 3, 12, Head = 3)]" + Class, "CS0246" },
        { "[TransformerShape(4, 3, 12, heads = 3)]" + Class, "CS0246" },
        { "[TransformerShape(4, 3, 12, Heads: 3)]" + Class, "CS1739" },
        { "[TransformerShape(seq: 4, 3, 12)]" + Class, "CS1739" },
        { "[TransformerShape(4, 3, 12, SequenceLength = 4)]" + Class, "CS0617" },
        { "[TransformerShape(Heads = 3, 4, 3, 12)]" + Class, "CS1016" },
        { "[TransformerShape(sequenceLength: 4, embeddingDim: 3, ffnDim: 12, ffnDim: 12)]" + Class, "CS1740" },

        // Half-typed declarations: the parser recovers a class without a name, which must get no kernels.
        { "[TransformerShape(4, 3, 12)]\npublic partial class class C { }", "CS1001 CS1513 CS1514" },
        { "public partial class\n{\n    [TransformerShape(4, 3, 12)]\n    public partial class C { }\n}", "CS1001 CS1022 CS1513" },

        // Missing and extra arguments.
        { "[TransformerShape]" + Class, "CS7036" },
        { "[TransformerShape()]" + Class, "CS7036" },
        { "[TransformerShape(128, 384)]" + Class, "CS7036" },
        { "[TransformerShape(Heads = 12)]" + Class, "CS7036" },
        { "[TransformerShape(128, 384, 1536, 12)]" + Class, "CS1729" },
        { "[TransformerShape(128, 384, 1536, 12, true)]" + Class, "CS1729" },

        // Declarations the attribute does not belong on.
        { "[TransformerShape(4, 3, 12)]\npublic partial struct S { }", "CS0592" },
        { "[TransformerShape(4, 3, 12)]\npublic partial record struct R;", "CS0592" },
        { "[TransformerShape(4, 3, 12)]\npublic partial interface I { }", "CS0592" },
        { "[TransformerShape(4, 3, 12)]\npublic enum E { A }", "CS0592" },
        { "[TransformerShape(4, 3, 12)]\npublic delegate void D();", "CS0592" },
        { "public partial class C\n{\n    [TransformerShape(4, 3, 12)]\n    public void M() { }\n}", "CS0592" },
        { "public partial class C\n{\n    [TransformerShape(4, 3, 12)]\n    public int Field;\n}", "CS0592" },
        { "public partial class C\n{\n    public void M([TransformerShape(4, 3, 12)] int x) { }\n}", "CS0592" },
        { "[assembly: TransformerShape(4, 3, 12)]", "CS0592" },
        { "[return: TransformerShape(4, 3, 12)]" + Class, "CS0657" },

        // Declarations the generator rejects.
        { "[TransformerShape(4, 3, 12)]\npublic record R;", "FSA0003" },
        { "[TransformerShape(4, 3, 12)]\npublic static class C { }", "FSA0003 FSA0004" },
        { "[TransformerShape(0, 3, 12)]\npublic class C { }", "FSA0001 FSA0003" },
        { "[TransformerShape(4, 3, 12)]\npublic partial record R<T>;", "FSA0005" },
        { "public struct S\n{\n    [TransformerShape(4, 3, 12)]\n    public partial class C { }\n}", "FSA0007" },
        { "public interface I\n{\n    [TransformerShape(4, 3, 12)]\n    public partial class C { }\n}", "FSA0007" },

        // The attribute twice: the compiler rejects the duplicate; the generator emits (or reports) for the first only.
        { "[TransformerShape(4, 3, 12), TransformerShape(4, 3, 12)]" + Class, "CS0579" },
        { "[TransformerShape(4, 3, 12)]\n[TransformerShape(8, 16, 32)]" + Class, "CS0579" },
        { "[TransformerShape(4, 3, 12)]" + Class + "\n[TransformerShape(8, 16, 32, Heads = 2)]" + Class, "CS0579" },
        { "[TransformerShape(4, 3, 12)]" + Class + "\n[TransformerShape(0, 3, 12)]" + Class, "CS0579" },
        { "[TransformerShape(0, 3, 12)]" + Class + "\n[TransformerShape(4, 3, 12)]" + Class, "CS0579 FSA0001" },
        { "[TransformerShape(4, 3, 12)]" + Class + NextFile + Header + "[TransformerShape(8, 16, 32, Heads = 2)]" + Class, "CS0579" },
    };

    private static readonly string[] s_generatorCrashIds = { "CS8785", "AD0001" };

    [Theory]
    [MemberData(nameof(Mutations))]
    public void A_handwritten_mutation_has_its_documented_outcome(string declaration, string expected)
    {
        GeneratorRun run = GeneratorHarness.Run(Sources(declaration));
        AssertGeneratorSurvived(run, declaration);

        string[] fsa = run.GeneratorDiagnostics.Select(d => d.Id).Order(StringComparer.Ordinal).ToArray();
        string[] compiler = UserCodeDiagnostics(run).Select(d => d.Id).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (expected == "generates")
        {
            Assert.True(fsa.Length == 0 && compiler.Length == 0, $"Expected clean kernels, got {string.Join(", ", fsa.Concat(compiler))}: {string.Join("; ", UserCodeDiagnostics(run))}");
            Assert.Equal(GeneratorHarness.FilesPerShape, run.Sources.Count);
            return;
        }

        string[] ids = expected.Split(' ');
        Assert.Equal(ids.Where(id => id.StartsWith("FSA", StringComparison.Ordinal)).Order(StringComparer.Ordinal), fsa);
        Assert.Equal(ids.Where(id => id.StartsWith("CS", StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal), compiler);
        if (fsa.Length > 0 && !ids.Contains("CS0579"))
        {
            // An invalid shape gets no kernels (a duplicate attribute may still emit for its valid first use).
            Assert.Empty(run.Sources);
        }
    }

    [Fact]
    public void The_table_reaches_every_diagnostic_id_and_counts_its_mutations()
    {
        string[] expected = Mutations.Select(row => (string)row.Data.Item2).ToArray();
        FuzzSettings.Log($"attribute fuzz: {expected.Length} handwritten mutations, plus every prefix (DiagnosticTests) and the random ones");
        foreach (string id in Enumerable.Range(1, 8).Select(n => $"FSA{n:0000}"))
        {
            Assert.Contains(expected, outcome => outcome.Split(' ').Contains(id));
        }
    }

    // The seeded random side: token edits of valid usages, checked only for what must hold for any input.
    private const int DefaultRandomMutations = 300;

    private static readonly string[] s_bases =
    {
        "[TransformerShape(128, 384, 1536, Heads = 12, Causal = true, Activation = Activation.Gelu)]\npublic partial class C { }",
        "public partial class Outer\n{\n    [TransformerShape(sequenceLength: 4, embeddingDim: 3, ffnDim: 12, Activation = Activation.Silu)]\n    internal sealed partial class Inner { }\n}",
    };

    // Tokens a mutation may insert or substitute: literals of every type, extremes, keywords that change the
    // declaration, and the punctuation of attribute syntax.
    private static readonly string[] s_pool =
    {
        "0", "-1", "1", "3", "8193", "32769", "int.MaxValue", "int.MinValue", "\"x\"", "1.5", "2L", "true", "null", "default",
        "(Activation)(-1)", "(Activation)42", "Activation.Relu", "typeof(int)", "nameof(C)", "sizeof(int)", "System.Environment.ProcessorCount",
        "Heads", "Causal", "Activation", "sequenceLength:", "=", ",", "(", ")", "[", "]", "-", "+", "*", "/", "<", ">", ":", ";", "{", "}",
        "partial", "static", "class", "struct", "record", "interface", "enum", "public", "file", "abstract", "TransformerShape", "@class", "C", "<T>",
    };

    [Fact]
    public void Random_mutations_never_crash_the_generator_nor_break_the_generated_code()
    {
        int seed = FuzzSettings.Seed;
        int count = FuzzSettings.Read(FuzzSettings.MutationsVariable, DefaultRandomMutations);
        string replay = $"replay: {FuzzSettings.SeedVariable}={seed} {FuzzSettings.MutationsVariable}={count}";
        var random = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int generated = 0, reported = 0, compilerOnly = 0;
        var failures = new List<string>();
        for (int attempt = 0; seen.Count < count && attempt < 20 * count; attempt++)
        {
            string mutation = Mutate(s_bases[random.Next(s_bases.Length)], random);
            if (!seen.Add(mutation))
            {
                continue;
            }

            GeneratorRun run = GeneratorHarness.Run(Sources(mutation));
            string? problem = Problem(run);
            if (problem is not null)
            {
                failures.Add($"{mutation}\n  {problem}");
            }

            if (!run.GeneratorDiagnostics.IsEmpty)
            {
                reported++;
            }
            else if (run.Sources.Count > 0)
            {
                generated++;
            }
            else
            {
                compilerOnly++;
            }
        }

        FuzzSettings.Log($"attribute fuzz: {seen.Count} random mutations, seed {seed}: {generated} generated kernels, {reported} reported an FSA id, {compilerOnly} left to the compiler");
        Assert.Equal(count, seen.Count);
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} random mutations broke the generator ({replay}):\n" + string.Join("\n", failures.Take(10)));
    }

    /// <summary>One to three edits of a token list: delete, duplicate, swap two, substitute or insert a pool token.</summary>
    private static string Mutate(string source, Random random)
    {
        var tokens = Regex.Matches(source, @"[A-Za-z_@][A-Za-z0-9_.]*:?|\d+|\S").Select(m => m.Value).ToList();
        int edits = random.Next(1, 4);
        for (int edit = 0; edit < edits && tokens.Count > 0; edit++)
        {
            int at = random.Next(tokens.Count);
            switch (random.Next(5))
            {
                case 0: tokens.RemoveAt(at); break;
                case 1: tokens.Insert(at, tokens[at]); break;
                case 2:
                    int other = random.Next(tokens.Count);
                    (tokens[at], tokens[other]) = (tokens[other], tokens[at]);
                    break;
                case 3: tokens[at] = s_pool[random.Next(s_pool.Length)]; break;
                default: tokens.Insert(at, s_pool[random.Next(s_pool.Length)]); break;
            }
        }

        return string.Join(" ", tokens);
    }

    private static string[] Sources(string declaration) =>
        declaration.Split(NextFile).Select((part, i) => i == 0 ? Header + part + "\n" : part + "\n").ToArray();

    /// <summary>What must hold for any input: the generator did not throw, and what it added compiles cleanly.</summary>
    private static void AssertGeneratorSurvived(GeneratorRun run, string what)
    {
        string? problem = Problem(run);
        Assert.True(problem is null, $"{problem} for\n{what}");
    }

    /// <summary>Null when the run is sound, else the first thing wrong with it.</summary>
    private static string? Problem(GeneratorRun run)
    {
        if (run.Result.Exception is not null)
        {
            return $"The generator threw: {run.Result.Exception}";
        }

        Diagnostic[] crashes = run.DriverDiagnostics.Where(d => s_generatorCrashIds.Contains(d.Id)).ToArray();
        if (crashes.Length > 0)
        {
            return $"The driver reported a generator crash: {string.Join("; ", crashes.Select(d => d.ToString()))}";
        }

        if (run.Sources.Count > 0)
        {
            // The generated partials re-declare the user's class, so a problem of its name (a lower-case name, CS8981;
            // "file", CS9056) is echoed there. Only what the user's own code does not already show counts.
            var echoed = UserCodeDiagnostics(run).Select(d => d.Id).ToHashSet();
            Diagnostic[] inGenerated = run.Output.GetDiagnostics()
                .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && !run.Input.SyntaxTrees.Contains(tree))
                .Where(d => !echoed.Contains(d.Id))
                .ToArray();
            if (inGenerated.Length > 0)
            {
                return $"The generated code has {inGenerated.Length} error(s) or warning(s), first: {inGenerated[0]}";
            }
        }

        return null;
    }

    // A member cannot share its class's name (CS0542), so a class named like a generated member gets FSA0009 on the
    // attribute and no kernels, rather than kernels that do not compile.
    [Theory]
    [InlineData("Attention")]
    [InlineData("FeedForward")]
    [InlineData("PackFeedForward")]
    [InlineData("Shape")]
    [InlineData("Heads")]
    [InlineData("SequenceLength")]
    [InlineData("KeyValueHeads")]
    [InlineData("DecodeStep")]
    public void A_class_named_like_a_generated_member_gets_FSA0009_rather_than_broken_kernels(string name)
    {
        const string Attribute = "[TransformerShape(4, 3, 12)]";
        string source = Header + $"namespace Demo;\n{Attribute}\npublic partial class {name} {{ }}\n";
        GeneratorRun run = GeneratorHarness.Run(source);

        Diagnostic diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("FSA0009", diagnostic.Id);
        Assert.Contains($"'{name}'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Attribute.Trim('[', ']'), source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Empty(run.Sources);
    }

    /// <summary>The compiler's errors and warnings in the test's own files (what the user sees besides FSA ids).</summary>
    private static IEnumerable<Diagnostic> UserCodeDiagnostics(GeneratorRun run) =>
        run.Output.GetDiagnostics().Where(d =>
            d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && run.Input.SyntaxTrees.Contains(tree));
}
