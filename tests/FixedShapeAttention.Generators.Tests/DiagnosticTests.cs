using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// One test per diagnostic id, as Regex's RegexGeneratorParserTests: exactly one diagnostic, its id, a message
/// that names the bad value, a span on the offending attribute argument (or the attribute), and no generated source.
/// </summary>
public sealed class DiagnosticTests
{
    private const string Header = "using FixedShapeAttention;\nnamespace Demo;\n";

    [Theory]
    [InlineData("[TransformerShape(0, 384, 1536)]", "0", "SequenceLength must be at least 1, but is 0")]
    [InlineData("[TransformerShape(128, -384, 1536)]", "-384", "EmbeddingDim must be at least 1, but is -384")]
    [InlineData("[TransformerShape(128, 384, 0, Heads = 12)]", "0", "FfnDim must be at least 1, but is 0")]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 0)]", "Heads = 0", "Heads must be at least 1, but is 0")]
    [InlineData("[TransformerShape(embeddingDim: 384, sequenceLength: 0, ffnDim: 1536)]", "sequenceLength: 0", "SequenceLength must be at least 1, but is 0")]
    [InlineData("[TransformerShape(128, embeddingDim: 384, 0)]", "0", "FfnDim must be at least 1, but is 0")]
    public void FSA0001_dimension_not_positive(string attribute, string span, string message)
    {
        AssertSingleDiagnostic("FSA0001", attribute + "\npublic partial class C { }", span, message);
    }

    [Fact]
    public void FSA0002_heads_do_not_divide_embedding()
    {
        AssertSingleDiagnostic(
            "FSA0002",
            "[TransformerShape(128, 384, 1536, Heads = 5)]\npublic partial class C { }",
            "Heads = 5",
            "Heads = 5 does not divide EmbeddingDim = 384");
    }

    [Fact]
    public void FSA0003_class_not_partial()
    {
        AssertSingleDiagnostic(
            "FSA0003",
            "[TransformerShape(4, 3, 12)]\npublic class NotPartial { }",
            "TransformerShape(4, 3, 12)",
            "'NotPartial'");
    }

    [Fact]
    public void FSA0004_class_is_static()
    {
        AssertSingleDiagnostic(
            "FSA0004",
            "[TransformerShape(4, 3, 12)]\npublic static partial class StaticShape { }",
            "TransformerShape(4, 3, 12)",
            "'StaticShape' is static");
    }

    [Theory]
    [InlineData("[TransformerShape(4, 3, 12)]\npublic partial class Generic<T> { }", "'Demo.Generic<T>'")]
    [InlineData("public partial class Outer<T>\n{\n    [TransformerShape(4, 3, 12)]\n    public partial class Inner { }\n}", "'Demo.Outer<T>'")]
    public void FSA0005_class_is_generic_or_nested_in_a_generic_type(string declaration, string genericType)
    {
        AssertSingleDiagnostic("FSA0005", declaration, "TransformerShape(4, 3, 12)", "generic type " + genericType);
    }

    [Theory]
    [InlineData("[TransformerShape(8193, 384, 1536)]", "8193", "SequenceLength = 8193 is above the supported maximum of 8192")]
    [InlineData("[TransformerShape(128, 8200, 1536, Heads = 8)]", "8200", "EmbeddingDim = 8200 is above the supported maximum of 8192")]
    [InlineData("[TransformerShape(128, 384, 32769)]", "32769", "FfnDim = 32769 is above the supported maximum of 32768")]
    public void FSA0006_dimension_too_large(string attribute, string span, string message)
    {
        AssertSingleDiagnostic("FSA0006", attribute + "\npublic partial class C { }", span, message);
    }

    [Fact]
    public void FSA0007_containing_type_not_partial()
    {
        AssertSingleDiagnostic(
            "FSA0007",
            "public class Outer\n{\n    [TransformerShape(4, 3, 12)]\n    public partial class Inner { }\n}",
            "TransformerShape(4, 3, 12)",
            "nested in 'Outer'");
    }

    [Fact]
    public void FSA0008_activation_not_defined()
    {
        AssertSingleDiagnostic(
            "FSA0008",
            "[TransformerShape(4, 3, 12, Activation = (Activation)42)]\npublic partial class C { }",
            "Activation = (Activation)42",
            "Activation = 42 is not a defined Activation value");
    }

    [Theory]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 12, KeyValueHeads = 5)]", "KeyValueHeads = 5", "KeyValueHeads = 5 does not divide Heads = 12")]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 12, KeyValueHeads = 24)]", "KeyValueHeads = 24", "KeyValueHeads = 24 does not divide Heads = 12")]
    [InlineData("[TransformerShape(16, 64, 64, KeyValueHeads = 2)]", "KeyValueHeads = 2", "KeyValueHeads = 2 does not divide Heads = 1")]
    public void FSA0010_key_value_heads_do_not_divide_heads(string attribute, string span, string message)
    {
        AssertSingleDiagnostic("FSA0010", attribute + "\npublic partial class C { }", span, message);
    }

    [Theory]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 12, KeyValueHeads = 0)]", "KeyValueHeads = 0", "KeyValueHeads must be at least 1, but is 0")]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 12, KeyValueHeads = -3)]", "KeyValueHeads = -3", "KeyValueHeads must be at least 1, but is -3")]
    public void FSA0001_key_value_heads_not_positive(string attribute, string span, string message)
    {
        AssertSingleDiagnostic("FSA0001", attribute + "\npublic partial class C { }", span, message);
    }

    [Theory]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 12, KeyValueHeads = 4)]")]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 12, KeyValueHeads = 12, Causal = true)]")]
    [InlineData("[TransformerShape(128, 384, 1536, Heads = 12, KeyValueHeads = 1, Causal = true)]")]
    public void Key_value_heads_that_divide_heads_generate_kernels_that_compile(string attribute)
    {
        GeneratorRun run = GeneratorHarness.Run(Header + attribute + "\npublic partial class C { }\n");
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.NotEmpty(run.Sources);
        GeneratorHarness.AssertGeneratedCodeCompiles(run);
    }

    private static void AssertSingleDiagnostic(string id, string declaration, string expectedSpanText, string expectedMessagePart)
    {
        string source = Header + declaration + "\n";
        GeneratorRun run = GeneratorHarness.Run(source);

        Diagnostic diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(message.Contains(expectedMessagePart, System.StringComparison.Ordinal), $"The message \"{message}\" does not contain \"{expectedMessagePart}\".");

        // The location must point into the user's file, at the offending argument (or the whole attribute).
        Assert.Equal("Source0.cs", diagnostic.Location.GetLineSpan().Path);
        Microsoft.CodeAnalysis.Text.TextSpan span = diagnostic.Location.SourceSpan;
        Assert.Equal(expectedSpanText, source.Substring(span.Start, span.Length));

        // An invalid declaration gets no kernels: the user fixes the attribute first.
        Assert.Empty(run.Sources);
    }

    // Regex's malformed-constructor theory: while the user types, the generator sees every half-written attribute.
    // It must never throw (the driver would report CS8785 and drop all output); the compiler reports the syntax errors.
    private const string FullUsage =
        "using FixedShapeAttention; namespace Demo; [TransformerShape(128, 384, 1536, Heads = 12, Causal = true, Activation = Activation.Gelu)] public partial class C { }";

    public static TheoryData<int> PrefixLengths => new(Enumerable.Range(0, FullUsage.Length + 1));

    [Theory]
    [MemberData(nameof(PrefixLengths))]
    public void Generator_does_not_throw_on_any_prefix_of_an_attribute_usage(int length)
    {
        string prefix = FullUsage[..length];
        GeneratorRun run = GeneratorHarness.Run(prefix);

        Assert.True(run.Result.Exception is null, $"The generator threw on the prefix \"{prefix}\": {run.Result.Exception}");
        Diagnostic[] crashes = run.DriverDiagnostics.Where(d => d.Id is "CS8785" or "AD0001").ToArray();
        Assert.True(crashes.Length == 0, $"The prefix \"{prefix}\" made the driver report {string.Join("; ", crashes.Select(d => d.ToString()))}");
    }

    // The end of the prefix theory: the complete usage generates, so the theory exercised the real parse path.
    [Fact]
    public void The_full_attribute_usage_of_the_prefix_theory_generates_kernels()
    {
        GeneratorRun run = GeneratorHarness.Run(FullUsage);

        Assert.Empty(run.DriverDiagnostics);
        Assert.Equal(GeneratorHarness.FilesPerShape, run.Sources.Count);
    }
}
