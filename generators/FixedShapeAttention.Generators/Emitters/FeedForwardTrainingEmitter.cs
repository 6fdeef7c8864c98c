using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits the feed-forward network's training passes for the shape: <c>FeedForwardForTraining</c> (keeping the
/// pre-activation h = x·W1 + b1 and a = act(h) for the backward pass) and <c>FeedForwardBackward</c> (dW2 += aᵀ·dy,
/// db2 += Σdy, dh = (dy·W2ᵀ) ∘ act′(h), dW1 += xᵀ·dh, db1 += Σdh, dx = dh·W1ᵀ), every product with the shape's constant
/// dimensions on the packing product of <c>TrainingOperations</c>.
/// </summary>
internal static class FeedForwardTrainingEmitter
{
    private const string Operations = Spans.CompilerServices + ".TrainingOperations";

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
                    w.Line($"int batch = {Spans.CompilerServices}.KernelArguments.ValidateFeedForwardForTraining(x, w1, b1, w2, b2, y, hidden, activated, {s}, {e}, {f});");
                    w.Line($"int rows = batch * {s};");
                    w.Line($"{Operations}.Multiply(x, {e}, false, w1, {f}, false, hidden, {f}, rows, {f}, {e}, false, maxDegreeOfParallelism);");
                    w.Line($"{Operations}.AddBias(hidden, b1);");
                    w.Line($"{Operations}.Activate({activation}, hidden, activated);");
                    w.Line($"{Operations}.Multiply(activated, {f}, false, w2, {e}, false, y, {e}, rows, {e}, {f}, false, maxDegreeOfParallelism);");
                    w.Line($"{Operations}.AddBias(y, b2);");
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
                    using (w.Block("for (int sequence = 0; sequence < batch; sequence++)"))
                    {
                        w.Line($"{Operations}.Multiply(activated.Slice(sequence * {s * f}, {s * f}), {f}, true, outputGradient.Slice(sequence * {s * e}, {s * e}), {e}, false, w2Gradient, {e}, {f}, {e}, {s}, true, maxDegreeOfParallelism);");
                        w.Line($"{Operations}.AccumulateBiasGradient(outputGradient.Slice(sequence * {s * e}, {s * e}), b2Gradient);");
                    }

                    w.Line($"int rows = batch * {s};");
                    w.Line($"{Operations}.Multiply(outputGradient, {e}, false, w2, {e}, true, hiddenGradient, {f}, rows, {f}, {e}, false, maxDegreeOfParallelism);");
                    w.Line($"{Operations}.ActivationBackward({activation}, hidden, hiddenGradient);");
                    using (w.Block("for (int sequence = 0; sequence < batch; sequence++)"))
                    {
                        w.Line($"{Operations}.Multiply(x.Slice(sequence * {s * e}, {s * e}), {e}, true, hiddenGradient.Slice(sequence * {s * f}, {s * f}), {f}, false, w1Gradient, {f}, {e}, {f}, {s}, true, maxDegreeOfParallelism);");
                        w.Line($"{Operations}.AccumulateBiasGradient(hiddenGradient.Slice(sequence * {s * f}, {s * f}), b1Gradient);");
                    }

                    w.Line($"{Operations}.Multiply(hiddenGradient, {f}, false, w1, {f}, true, inputGradient, {e}, rows, {e}, {f}, false, maxDegreeOfParallelism);");
                });
        });
    }
}
