using FixedShapeAttention.Generators.Infrastructure;
using FixedShapeAttention.Generators.Model;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>Emits the shape constants and the <c>ITransformerKernels</c> declaration.</summary>
internal static class ShapeEmitter
{
    public static string Emit(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        return FileHeaderEmitter.Write(shape.Type, w =>
        {
            w.Line("/// <summary>Tokens per sequence.</summary>");
            w.Line($"public static int SequenceLength => {shape.SequenceLength};");
            w.Line();
            w.Line("/// <summary>Model width.</summary>");
            w.Line($"public static int EmbeddingDim => {shape.EmbeddingDim};");
            w.Line();
            w.Line("/// <summary>Hidden width of the feed-forward network.</summary>");
            w.Line($"public static int FfnDim => {shape.FfnDim};");
            w.Line();
            w.Line("/// <summary>Attention heads.</summary>");
            w.Line($"public static int Heads => {shape.Heads};");
            w.Line();
            w.Line("/// <summary>The declared shape as a runtime value, for the generic kernels and for inspection.</summary>");
            w.List(
                "public static global::FixedShapeAttention.TransformerShape Shape { get; } = new global::FixedShapeAttention.TransformerShape(",
                new[] { $"{shape.SequenceLength}", $"{shape.EmbeddingDim}", $"{shape.FfnDim}", $"{shape.Heads}", shape.Causal ? "true" : "false", $"global::FixedShapeAttention.Activation.{shape.Activation}" },
                ");");
        }, baseList: "global::FixedShapeAttention.ITransformerKernels");
    }
}
