using FixedShapeAttention.Generators.Infrastructure;
using FixedShapeAttention.Generators.Model;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>Emits the shape constants and the <c>ITransformerKernels</c> declaration.</summary>
internal static class ShapeEmitter
{
    public static string Emit(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        string[] explanation =
        {
            $"FixedShapeAttention: the declared shape of {shape.Type.Name}.",
            $"SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}, FfnDim {shape.FfnDim}, Heads {shape.Heads} (HeadDim {shape.HeadDim}), " +
            $"{(shape.Causal ? "causal" : "not causal")}, activation {shape.Activation}.",
        };
        return FileHeaderEmitter.Write(shape.Type, explanation, w =>
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
            w.Line($"public static global::FixedShapeAttention.TransformerShape Shape {{ get; }} = new global::FixedShapeAttention.TransformerShape({shape.SequenceLength}, {shape.EmbeddingDim}, {shape.FfnDim}, " +
                   $"{shape.Heads}, {(shape.Causal ? "true" : "false")}, global::FixedShapeAttention.Activation.{shape.Activation});");
        }, baseList: "global::FixedShapeAttention.ITransformerKernels");
    }
}
