using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits the training passes of the shape's weighted layers: <c>FeedForwardForTraining</c> (keeping the pre-activation
/// h = x·W1 + b1 and a = act(h) for the backward pass), <c>FeedForwardBackward</c> (dW2 += aᵀ·dy, db2 += Σdy,
/// dh = (dy·W2ᵀ) ∘ act′(h), dW1 += xᵀ·dh, db1 += Σdh, dx = dh·W1ᵀ) and <c>ProjectionBackward</c> (dW += xᵀ·dy,
/// db += Σdy, dx = dy·Wᵀ), every product with the shape's constant dimensions on the packing product of
/// <c>TrainingOperations</c>; and the row passes over the shape's EmbeddingDim (<c>LayerNormForTraining</c>,
/// <c>LayerNormBackward</c>, <c>EmbeddingBackward</c>, <c>CrossEntropyLoss</c>) on <c>TrainingOperations</c>' row
/// functions, chunked as <see cref="RowPassPlan"/> decides.
/// </summary>
internal static class TrainingEmitter
{
    private const string Operations = Spans.CompilerServices + ".TrainingOperations";

    /// <summary>A call of a <c>TrainingOperations</c> method, its arguments wrapped to the line width.</summary>
    private static void Call(SourceWriter w, string method, params string[] arguments) =>
        w.List($"{Operations}.{method}(", arguments, ");");

    public static string Emit(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        string activation = $"global::FixedShapeAttention.Activation.{shape.Activation}";
        return FileHeaderEmitter.Write(shape.Type, w =>
        {
            EmitOverloadPair(
                w,
                "FeedForwardForTraining",
                new[]
                {
                    (Spans.ReadOnly, "x"), (Spans.ReadOnly, "w1"), (Spans.ReadOnly, "b1"), (Spans.ReadOnly, "w2"), (Spans.ReadOnly, "b2"), (Spans.Writable, "y"),
                    (Spans.Writable, "hidden"), (Spans.Writable, "activated"),
                },
                new[]
                {
                    $"/// <summary><c>y = {shape.Activation}(x·W1 + b1)·W2 + b2</c> for training: also keeps <paramref name=\"hidden\"/> = x·W1 + b1 and",
                    $"/// <paramref name=\"activated\"/> = {shape.Activation}(hidden), <c>[batch, {s}, {f}]</c>, which <c>FeedForwardBackward</c> reads.</summary>",
                    "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or an output overlaps another span.</exception>",
                },
                () =>
                {
                    w.List(
                        $"int batch = {Spans.CompilerServices}.KernelArguments.ValidateFeedForwardForTraining(",
                        new[] { "x", "w1", "b1", "w2", "b2", "y", "hidden", "activated", $"{s}", $"{e}", $"{f}" },
                        ");");
                    w.Line($"int rows = batch * {s};");
                    Call(w, "MultiplyAddBias", "x", $"{e}", "false", "w1", $"{f}", "false", "hidden", $"{f}", "rows", $"{f}", $"{e}", "b1", "maxDegreeOfParallelism");
                    Call(w, "Activate", $"{activation}", "hidden", "activated", $"{s * f}", "maxDegreeOfParallelism");
                    Call(w, "MultiplyAddBias", "activated", $"{f}", "false", "w2", $"{e}", "false", "y", $"{e}", "rows", $"{e}", $"{f}", "b2", "maxDegreeOfParallelism");
                });

            w.Line();
            EmitOverloadPair(
                w,
                "FeedForwardBackward",
                new[]
                {
                    (Spans.ReadOnly, "x"), (Spans.ReadOnly, "w1"), (Spans.ReadOnly, "w2"), (Spans.ReadOnly, "hidden"), (Spans.ReadOnly, "activated"),
                    (Spans.ReadOnly, "outputGradient"), (Spans.Writable, "inputGradient"), (Spans.Writable, "w1Gradient"), (Spans.Writable, "b1Gradient"),
                    (Spans.Writable, "w2Gradient"), (Spans.Writable, "b2Gradient"), (Spans.Writable, "hiddenGradient"),
                },
                new[]
                {
                    "/// <summary>The feed-forward network's backward pass: <paramref name=\"inputGradient\"/> = dx (overwritten); the weight and bias",
                    "/// gradients are added to (so micro-batches accumulate); <paramref name=\"hiddenGradient\"/> is scratch of the hidden's size.</summary>",
                }.Concat(Remarks(w, new[]
                {
                    $"Shape: SequenceLength {s}, EmbeddingDim {e}, FfnDim {f}, {shape.Activation}: dW2 += aᵀ·dy, db2 += Σ dy, " +
                    $"dh = (dy·W2ᵀ) ∘ {shape.Activation}′(h), dW1 += xᵀ·dh, db1 += Σ dh, dx = dh·W1ᵀ.",
                    $"Scheduling: {plan.FeedForwardTraining.Scheduling}; " + Threshold(plan, plan.FeedForwardTraining.BackwardFlopsPerSequence),
                })).Concat(new[]
                {
                    "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or a gradient overlaps another span.</exception>",
                }).ToArray(),
                () =>
                {
                    w.List(
                        $"int batch = {Spans.CompilerServices}.KernelArguments.ValidateFeedForwardBackward(",
                        new[] { "x", "w1", "w2", "hidden", "activated", "outputGradient", "inputGradient", "w1Gradient", "b1Gradient", "w2Gradient", "b2Gradient", "hiddenGradient", $"{s}", $"{e}", $"{f}" },
                        ");");
                    Call(w, "AccumulateWeightGradients", "activated", $"{f}", "outputGradient", $"{e}", "w2Gradient", "b2Gradient", $"{s}", "maxDegreeOfParallelism");

                    w.Line($"int rows = batch * {s};");
                    Call(w, "Multiply", "outputGradient", $"{e}", "false", "w2", $"{e}", "true", "hiddenGradient", $"{f}", "rows", $"{f}", $"{e}", "false", "maxDegreeOfParallelism");
                    Call(w, "ActivationBackward", $"{activation}", "hidden", "hiddenGradient", $"{s * f}", "maxDegreeOfParallelism");
                    Call(w, "AccumulateWeightGradients", "x", $"{e}", "hiddenGradient", $"{f}", "w1Gradient", "b1Gradient", $"{s}", "maxDegreeOfParallelism");

                    Call(w, "Multiply", "hiddenGradient", $"{f}", "false", "w1", $"{f}", "true", "inputGradient", $"{e}", "rows", $"{e}", $"{f}", "false", "maxDegreeOfParallelism");
                });

            w.Line();
            EmitOverloadPair(
                w,
                "ProjectionBackward",
                new[]
                {
                    (Spans.ReadOnly, "x"), (Spans.ReadOnly, "w"), (Spans.ReadOnly, "outputGradient"), (Spans.Writable, "inputGradient"),
                    (Spans.Writable, "weightGradient"), (Spans.Writable, "biasGradient"), ("bool", "accumulateInputGradient"),
                },
                new[]
                {
                    $"/// <summary>The backward pass of <c>y = x·W + b</c> (W <c>[{e}, {e}]</c>): dW += xᵀ·dy (one multiply-add chain over the rows) and db += Σ dy",
                    "/// (sequence by sequence), in batch order; dx = dy·Wᵀ into <paramref name=\"inputGradient\"/>, or added to it with",
                    "/// <paramref name=\"accumulateInputGradient\"/> (the query, key and value projections share their input).</summary>",
                    "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or a gradient overlaps another span.</exception>",
                },
                () =>
                {
                    w.List(
                        $"int batch = {Spans.CompilerServices}.KernelArguments.ValidateProjectionBackward(",
                        new[] { "x", "w", "outputGradient", "inputGradient", "weightGradient", "biasGradient", $"{s}", $"{e}" },
                        ");");
                    Call(w, "AccumulateWeightGradients", "x", $"{e}", "outputGradient", $"{e}", "weightGradient", "biasGradient", $"{s}", "maxDegreeOfParallelism");

                    Call(w, "Multiply", "outputGradient", $"{e}", "false", "w", $"{e}", "true", "inputGradient", $"{e}", $"batch * {s}", $"{e}", $"{e}", "accumulateInputGradient", "maxDegreeOfParallelism");
                });

            w.Line();
            EmitRowPasses(w, plan);
        });
    }

    /// <summary>
    /// The row passes: LayerNorm for training and its backward pass, the embeddings' backward pass and the fused softmax
    /// cross-entropy, each one call of the runtime's definition with the shape's constants and the plan's chunking.
    /// </summary>
    private static void EmitRowPasses(SourceWriter w, KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        RowPassPlan rows = plan.RowPasses;
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        const string Validates = "// TrainingOperations checks every span against these constants before it writes anything.";
        EmitOverloadPair(
            w,
            "LayerNormForTraining",
            new[]
            {
                (Spans.ReadOnly, "x"), (Spans.ReadOnly, "gamma"), (Spans.ReadOnly, "beta"), ("float", "epsilon"), (Spans.Writable, "y"), (Spans.Writable, "mean"),
                (Spans.Writable, "inverseDeviation"),
            },
            new[]
            {
                $"/// <summary>LayerNorm over rows of {e} for training: <c>y = (x − μ)·σ⁻¹·γ + β</c>, keeping each row's μ and σ⁻¹ (<c>[batch, {s}]</c>),",
                "/// which <c>LayerNormBackward</c> reads; <paramref name=\"y\"/> may be <paramref name=\"x\"/> itself.</summary>",
            }.Concat(Remarks(w, new[] { $"Scheduling: {rows.LayerNormForwardScheduling}." })).Concat(new[]
            {
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, an output overlaps another span, or",
                "/// <paramref name=\"epsilon\"/> is negative or not finite.</exception>",
            }).ToArray(),
            () =>
            {
                w.Line(Validates);
                Call(w, "LayerNormForward", "x", "gamma", "beta", "epsilon", "y", "mean", "inverseDeviation", $"sequenceLength: {s}", $"embeddingDim: {e}", "maxDegreeOfParallelism");
            });

        w.Line();
        EmitOverloadPair(
            w,
            "LayerNormBackward",
            new[]
            {
                (Spans.ReadOnly, "x"), (Spans.ReadOnly, "gamma"), (Spans.ReadOnly, "mean"), (Spans.ReadOnly, "inverseDeviation"), (Spans.ReadOnly, "outputGradient"),
                (Spans.ReadOnly, "residualGradient"), (Spans.Writable, "inputGradient"), (Spans.Writable, "gammaGradient"), (Spans.Writable, "betaGradient"),
            },
            new[]
            {
                "/// <summary>LayerNorm's backward pass: dx = σ⁻¹·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)) into <paramref name=\"inputGradient\"/>",
                "/// (plus <paramref name=\"residualGradient\"/> unless it is empty), dγ += Σ dy·x̂ and dβ += Σ dy.</summary>",
            }.Concat(Remarks(w, new[] { $"Scheduling: {rows.LayerNormBackwardScheduling}." })).Concat(new[]
            {
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or a gradient overlaps another span.</exception>",
            }).ToArray(),
            () =>
            {
                w.Line(Validates);
                Call(
                    w, "LayerNormBackward", "x", "gamma", "mean", "inverseDeviation", "outputGradient", "residualGradient", "inputGradient", "gammaGradient",
                    "betaGradient", $"sequenceLength: {s}", $"embeddingDim: {e}", "maxDegreeOfParallelism");
            });

        w.Line();
        EmitOverloadPair(
            w,
            "EmbeddingBackward",
            new[] { (Spans.Counts, "tokens"), (Spans.ReadOnly, "outputGradient"), (Spans.Writable, "tokenGradient"), (Spans.Writable, "positionGradient") },
            new[]
            {
                $"/// <summary>The embeddings' backward pass: row r of <paramref name=\"outputGradient\"/> added to row <c>tokens[r]</c> of",
                $"/// <paramref name=\"tokenGradient\"/> (<c>[vocabulary, {e}]</c>) and, unless it is empty, to row <c>r mod {s}</c> of",
                "/// <paramref name=\"positionGradient\"/>.</summary>",
            }.Concat(Remarks(w, new[] { $"Scheduling: {rows.EmbeddingScheduling}." })).Concat(new[]
            {
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, a gradient overlaps another span, or a",
                "/// token id is outside the token gradient's rows (checked before any write).</exception>",
            }).ToArray(),
            () =>
            {
                w.Line(Validates);
                Call(w, "EmbeddingBackward", "tokens", "outputGradient", "tokenGradient", "positionGradient", $"sequenceLength: {s}", $"embeddingDim: {e}", $"columnBlock: {rows.ColumnBlock}",
                    "maxDegreeOfParallelism");
            });

        w.Line();
        EmitOverloadPair(
            w,
            "double",
            "CrossEntropyLoss",
            new[] { (Spans.ReadOnly, "logits"), (Spans.Counts, "targets"), ("int", "vocabularySize"), (Spans.Writable, "logitGradients"), ("int", "averageOver") },
            new[]
            {
                $"/// <summary>The fused, stable softmax cross-entropy over sequences of {s} rows of <paramref name=\"vocabularySize\"/> logits: the",
                "/// logits' gradient (it may overwrite the logits) and the loss sum over the scored targets divided by <paramref name=\"averageOver\"/>",
                "/// (0: by the scored targets).</summary>",
            }.Concat(Remarks(w, new[] { $"Scheduling: {rows.CrossEntropyScheduling}." })).Concat(new[]
            {
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match, the gradient partly overlaps the logits, a target is",
                "/// outside the vocabulary (checked before any write), or <paramref name=\"averageOver\"/> is below the scored targets.</exception>",
            }).ToArray(),
            () =>
            {
                w.Line(Validates);
                w.List(
                    $"return {Operations}.CrossEntropy(",
                    new[] { "logits", "targets", "vocabularySize", "logitGradients", "averageOver", $"sequenceLength: {s}", $"rowsPerChunk: {rows.CrossEntropyRowsPerChunk}", "maxDegreeOfParallelism" },
                    ");");
            });
    }
}
