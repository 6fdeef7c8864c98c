using System.Linq;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// The generated partials must re-open the class exactly where it was declared (namespace, containing types and
/// their keywords) and coexist with what else is declared there, so these compile the output for declarations outside
/// the plain <c>namespace Demo;</c> case: nesting, the global namespace, keyword identifiers, records, a repeated
/// attribute, two shapes side by side, and user types named like the runtime's.
/// </summary>
public sealed class DeclarationPlacementTests
{
    private const string Usings = "using FixedShapeAttention;\n";

    /// <summary>Case name, source, and the hint prefix the three generated files must carry.</summary>
    public static TheoryData<string, string, string> Placements => new()
    {
        {
            "nested in a partial class",
            Usings + "namespace Demo;\npublic partial class Outer\n{\n    [TransformerShape(4, 3, 12)]\n    public partial class Inner { }\n}\n",
            "Demo.Outer.Inner"
        },
        {
            "nested two deep, in a partial struct inside a partial class",
            Usings + "namespace Demo;\ninternal partial class Model\n{\n    private partial struct Layers\n    {\n        [TransformerShape(13, 20, 36, Heads = 4)]\n        internal sealed partial class Block { }\n    }\n}\n",
            "Demo.Model.Layers.Block"
        },
        {
            "global namespace",
            Usings + "[TransformerShape(4, 3, 12)]\npublic partial class GlobalShape { }\n",
            "GlobalShape"
        },
        {
            "block-scoped dotted namespace",
            Usings + "namespace Demo.Models\n{\n    [TransformerShape(8, 16, 32, Heads = 2)]\n    public partial class Small { }\n}\n",
            "Demo.Models.Small"
        },
        {
            "class named with a keyword",
            Usings + "namespace Demo;\n[TransformerShape(4, 3, 12)]\npublic partial class @event { }\n",
            "Demo.event"
        },
        {
            "keywords in the namespace and the containing type",
            Usings + "namespace @class.Models;\npublic partial class @static\n{\n    [TransformerShape(4, 3, 12)]\n    public partial class Inner { }\n}\n",
            "class.Models.static.Inner"
        },
        {
            "partial record class",
            Usings + "namespace Demo;\n[TransformerShape(4, 3, 12)]\npublic partial record Shaped;\n",
            "Demo.Shaped"
        },
    };

    [Theory]
    [MemberData(nameof(Placements))]
    public void Generated_code_compiles(string placement, string source, string hintPrefix)
    {
        GeneratorRun run = GeneratorHarness.Run(source);

        Assert.True(run.DriverDiagnostics.IsEmpty, $"{placement}: unexpected diagnostics {string.Join("; ", run.DriverDiagnostics)}");
        Assert.Equal(
            new[] { $"{hintPrefix}.Attention.g.cs", $"{hintPrefix}.FeedForward.g.cs", $"{hintPrefix}.Projection.g.cs", $"{hintPrefix}.Shape.g.cs", $"{hintPrefix}.Training.g.cs" },
            run.Sources.Keys.ToArray());
        GeneratorHarness.AssertGeneratedCodeCompiles(run);
    }

    // A user type in the class's namespace is found before any using directive of the generated file: the members
    // added to the user's class must be global::-qualified, and the kernel bodies live in a namespace of the generator's.
    [Theory]
    [InlineData("public enum Activation { Linear }")]
    [InlineData("public sealed class TransformerShape { }")]
    [InlineData("public static class KernelArguments { }")]
    [InlineData("public static class Unsafe { }")]
    [InlineData("public static class Vector512 { }")]
    [InlineData("public struct ReadOnlySpan<T> { }")]
    [InlineData("public static class MemoryMarshal { }")]
    public void Generated_code_compiles_next_to_a_user_type_named_like_a_runtime_type(string userType)
    {
        GeneratorRun run = GeneratorHarness.Run(
            "namespace Demo;\n" + userType + "\n[global::FixedShapeAttention.TransformerShape(4, 3, 12)]\npublic partial class Shaped { }\n");

        Assert.Equal(GeneratorHarness.FilesPerShape, run.Sources.Count);
        GeneratorHarness.AssertGeneratedCodeCompiles(run);
    }

    // The attribute is not AllowMultiple, so the compiler reports CS0579; the generator must still emit the kernels once
    // rather than throw on a duplicate hint name (which would drop every shape's output from the compilation).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_repeated_on_two_partial_declarations_emits_once(bool sameFile)
    {
        const string Header = Usings + "namespace Demo;\n";
        const string Part = "[TransformerShape(4, 3, 12)]\npublic partial class Twice { }\n";
        GeneratorRun run = sameFile ? GeneratorHarness.Run(Header + Part + Part) : GeneratorHarness.Run(Header + Part, Header + Part);

        Assert.Null(run.Result.Exception);
        Assert.Empty(run.DriverDiagnostics);
        Assert.Equal(new[] { "Demo.Twice.Attention.g.cs", "Demo.Twice.FeedForward.g.cs", "Demo.Twice.Projection.g.cs", "Demo.Twice.Shape.g.cs", "Demo.Twice.Training.g.cs" }, run.Sources.Keys.ToArray());
        Assert.Equal(new[] { "CS0579" }, run.OutputErrors.Select(d => d.Id).ToArray());
    }

    // Two shapes side by side: their file-local kernel structs and hint names must not collide.
    [Fact]
    public void Two_shapes_in_one_file_compile()
    {
        GeneratorRun run = GeneratorHarness.Run(
            Usings + "namespace Demo;\n[TransformerShape(4, 3, 12)]\npublic partial class A { }\n[TransformerShape(4, 3, 12)]\npublic partial class B { }\n");

        Assert.Equal(2 * GeneratorHarness.FilesPerShape, run.Sources.Count);
        GeneratorHarness.AssertGeneratedCodeCompiles(run);
    }
}
