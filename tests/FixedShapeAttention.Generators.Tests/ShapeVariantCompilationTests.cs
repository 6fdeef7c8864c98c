using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// The emitters branch on the plan (unrolled or blocked, row tail or not, causal or not, lanes per product, activation),
/// and the three snapshot shapes reach only some combinations. These compile the others: no errors anywhere and no
/// warnings in the generated files.
/// </summary>
public sealed class ShapeVariantCompilationTests
{
    public static TheoryData<string> Attributes => new()
    {
        "[TransformerShape(1, 1, 1)]",                                       // one row: only a tail tile, scalar lanes
        "[TransformerShape(5, 4, 4)]",                                       // unrolled, one-row tail, Vector128 slots
        "[TransformerShape(13, 20, 36, Heads = 4)]",                         // blocked with a tail, not causal
        "[TransformerShape(16, 32, 64, Heads = 2, Causal = true)]",          // causal without a tail
        "[TransformerShape(6, 8, 24, Causal = true, Activation = Activation.GeluTanh)]",
        "[TransformerShape(19, 48, 80, Heads = 3, Activation = Activation.Silu)]",
        "[TransformerShape(66, 96, 200, Heads = 6, Causal = true)]",         // several column panels plus remainder slots
    };

    [Theory]
    [MemberData(nameof(Attributes))]
    public void Generated_code_compiles_without_warnings(string attribute)
    {
        GeneratorRun run = GeneratorHarness.Run($"using FixedShapeAttention;\nnamespace Demo;\n{attribute}\npublic partial class Variant {{ }}\n");

        Assert.Empty(run.DriverDiagnostics);
        Assert.Equal(GeneratorHarness.FilesPerShape, run.Sources.Count);
        GeneratorHarness.AssertGeneratedCodeCompiles(run);
    }
}
