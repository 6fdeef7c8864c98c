namespace FixedShapeAttention.Generators.Emitters;

/// <summary>Emits the shape constants and the interface declarations (<c>IDecodingKernels</c> for a causal shape).</summary>
internal static class ShapeEmitter
{
    public static string Emit(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        return FileHeaderEmitter.Write(shape.Type, w =>
        {
            var dimensions = new (string Doc, string Name, int Value)[]
            {
                ("Tokens per sequence.", "SequenceLength", shape.SequenceLength),
                ("Model width.", "EmbeddingDim", shape.EmbeddingDim),
                ("Hidden width of the feed-forward network.", "FfnDim", shape.FfnDim),
                ("Attention heads.", "Heads", shape.Heads),
                ("Key/value heads (grouped-query attention when below Heads).", "KeyValueHeads", shape.KeyValueHeads),
            };
            foreach ((string doc, string name, int value) in dimensions)
            {
                w.Line($"/// <summary>{doc}</summary>");
                w.Line($"public static int {name} => {value};");
                w.Line();
            }

            w.Line("/// <summary>The declared shape as a runtime value, for the generic kernels and for inspection.</summary>");
            w.List(
                "public static global::FixedShapeAttention.TransformerShape Shape { get; } = new global::FixedShapeAttention.TransformerShape(",
                new[] { $"{shape.SequenceLength}", $"{shape.EmbeddingDim}", $"{shape.FfnDim}", $"{shape.Heads}", shape.Causal ? "true" : "false", $"global::FixedShapeAttention.Activation.{shape.Activation}" },
                ");");
        }, baseList: plan.Decoding is null
            ? "global::FixedShapeAttention.ITrainingKernels"
            : "global::FixedShapeAttention.ITrainingKernels, global::FixedShapeAttention.IDecodingKernels");
    }
}
