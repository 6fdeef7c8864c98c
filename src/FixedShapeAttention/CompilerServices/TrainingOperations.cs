using System;
using System.ComponentModel;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The runtime-shape pieces the generated training kernels call with their shape's constants: the packing product
/// (<c>C (+)= op(A)·op(B)</c>, which copies op(B)'s panels on the fly because weights change at every step), bias
/// addition and its gradient, and the activation and its derivative. One definition each, shared with
/// <see cref="TransformerLanguageModel"/>'s runtime-shape path.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class TrainingOperations
{
    /// <summary>
    /// <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> with <paramref name="accumulate"/>: op(A) is m×k (A stored m×k with
    /// stride <paramref name="lda"/>, or k×m when transposed), op(B) is k×n (B stored k×n, or n×k when transposed), C is m×n.
    /// Each element is one multiply-add chain in k order, so results do not depend on the degree of parallelism.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its dimensions and stride need, a stride is below its row length,
    /// a dimension is negative, or <paramref name="c"/> overlaps an operand.</exception>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transposeA, ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int maxDegreeOfParallelism)
    {
        if (c.Overlaps(a) || c.Overlaps(b))
        {
            throw new ArgumentException("c: the product must not overlap its operands.", nameof(c));
        }

        KernelParallelism.Resolve(maxDegreeOfParallelism);
        PanelGemm.Multiply(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, maxDegreeOfParallelism);
    }

    /// <summary><c>C = op(A)·op(B) + bias</c>, the bias added to every row: the bits of <see cref="Multiply"/> followed by
    /// <see cref="AddBias"/>, with the bias added to each tile of C while it is in cache.</summary>
    /// <exception cref="ArgumentException">C overlaps an operand, an operand is too short, or <paramref name="bias"/> is not n long.</exception>
    public static void MultiplyAddBias(
        ReadOnlySpan<float> a, int lda, bool transposeA, ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, ReadOnlySpan<float> bias, int maxDegreeOfParallelism)
    {
        if (c.Overlaps(a) || c.Overlaps(b) || c.Overlaps(bias))
        {
            throw new ArgumentException("c: the product must not overlap its operands or the bias.", nameof(c));
        }

        KernelParallelism.Resolve(maxDegreeOfParallelism);
        PanelGemm.MultiplyAddBias(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, bias, maxDegreeOfParallelism);
    }

    /// <summary>Adds <paramref name="bias"/> to every row of <paramref name="y"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="bias"/> is empty or <paramref name="y"/> is not a whole number of its rows.</exception>
    public static void AddBias(Span<float> y, ReadOnlySpan<float> bias)
    {
        WholeRows(y.Length, bias.Length, nameof(y));
        TrainingKernels.AddBias(y, bias);
    }

    /// <summary><c>dBias[j] += Σ_r dy[r, j]</c>, the rows summed in order in float first: called once per sequence, a batch and
    /// its micro-batches of whole sequences give the same bits.</summary>
    /// <exception cref="ArgumentException"><paramref name="dBias"/> is empty or <paramref name="dy"/> is not a whole number of its rows.</exception>
    public static void AccumulateBiasGradient(ReadOnlySpan<float> dy, Span<float> dBias)
    {
        WholeRows(dy.Length, dBias.Length, nameof(dy));
        TrainingKernels.AccumulateBiasGradient(dy, dBias);
    }

    /// <summary>
    /// A linear layer's weight and bias gradients over a batch of whole sequences: <c>dW += xᵀ·dy</c> and <c>db += Σ dy</c>,
    /// in batch order: each element of dW one multiply-add chain over the rows continuing from what dW holds, each sequence's bias sum
    /// rounded before it is added, so micro-batches of whole sequences accumulate to the same bits.
    /// </summary>
    /// <exception cref="ArgumentException">x is not whole rows of <paramref name="inputs"/>, dy not the same rows of <paramref name="outputs"/>,
    /// the rows not whole sequences, dW not inputs × outputs or db not outputs long, or a gradient overlaps an operand.</exception>
    public static void AccumulateWeightGradients(
        ReadOnlySpan<float> x, int inputs, ReadOnlySpan<float> dy, int outputs, Span<float> dWeight, Span<float> dBias, int sequenceLength,
        int maxDegreeOfParallelism)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        WholeRows(x.Length, inputs, nameof(x));
        int rows = x.Length / inputs;
        if (dy.Length != (long)rows * outputs)
        {
            throw new ArgumentException($"dy: expected {(long)rows * outputs} floats ({rows} rows of {outputs}), got {dy.Length}.", nameof(dy));
        }

        if (rows % sequenceLength != 0)
        {
            throw new ArgumentException($"x: expected whole sequences of {sequenceLength} rows, got {rows} rows.", nameof(x));
        }

        if (dWeight.Length != (long)inputs * outputs)
        {
            throw new ArgumentException($"dWeight: expected {(long)inputs * outputs} floats ({inputs} × {outputs}), got {dWeight.Length}.", nameof(dWeight));
        }

        SameLength(outputs, dBias.Length, nameof(dBias));
        if (dWeight.Overlaps(x) || dWeight.Overlaps(dy) || dBias.Overlaps(x) || dBias.Overlaps(dy) || dBias.Overlaps(dWeight))
        {
            throw new ArgumentException("dWeight, dBias: the gradients must not overlap the operands or each other.", nameof(dWeight));
        }

        KernelParallelism.Resolve(maxDegreeOfParallelism);
        LinearGradients.AccumulateWeights(x, dy, dWeight, dBias, rows, inputs, outputs, sequenceLength, maxDegreeOfParallelism);
    }

    /// <summary><c>g = act(h)</c> by the inference kernels' activation pass (the same bits as the forward kernels), in chunks of
    /// <paramref name="chunkLength"/> values on up to <paramref name="maxDegreeOfParallelism"/> threads (the bits do not depend on them).</summary>
    /// <exception cref="ArgumentException">The spans differ in length, <paramref name="chunkLength"/> is not positive, or
    /// <paramref name="activation"/> is not an <see cref="Activation"/>.</exception>
    public static void Activate(Activation activation, ReadOnlySpan<float> h, Span<float> g, int chunkLength, int maxDegreeOfParallelism)
    {
        SameLength(h.Length, g.Length, nameof(g));
        Defined(activation);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkLength);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        if (g.Overlaps(h, out int offset) && offset != 0)
        {
            throw new ArgumentException("g: must be h itself or not overlap it.", nameof(g));
        }

        TrainingKernels.Activate(activation, h, g, chunkLength, maxDegreeOfParallelism);
    }

    /// <summary><c>dg ← dg · act′(h)</c>, in place, in chunks as <see cref="Activate"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length, <paramref name="chunkLength"/> is not positive, or
    /// <paramref name="activation"/> is not an <see cref="Activation"/>.</exception>
    public static void ActivationBackward(Activation activation, ReadOnlySpan<float> h, Span<float> dg, int chunkLength, int maxDegreeOfParallelism)
    {
        SameLength(h.Length, dg.Length, nameof(dg));
        Defined(activation);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkLength);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        TrainingKernels.ActivationBackward(activation, h, dg, chunkLength, maxDegreeOfParallelism);
    }

    /// <summary>LayerNorm over rows of <paramref name="embeddingDim"/>, keeping each row's mean and reciprocal deviation: one
    /// chunk per sequence, each row by the decoder's row function (the bits do not depend on the chunks or the threads).</summary>
    /// <exception cref="ArgumentException">As <see cref="KernelArguments.ValidateLayerNormForTraining"/>.</exception>
    public static void LayerNormForward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, Span<float> mean,
        Span<float> inverseDeviation, int sequenceLength, int embeddingDim, int maxDegreeOfParallelism)
    {
        KernelArguments.ValidateLayerNormForTraining(x, gamma, beta, epsilon, y, mean, inverseDeviation, sequenceLength, embeddingDim);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        TrainingLayerNorm.Forward(x, gamma, beta, epsilon, y, mean, inverseDeviation, sequenceLength, maxDegreeOfParallelism);
    }

    /// <summary>LayerNorm's backward pass in one pass, a sequence per chunk: dx (plus <paramref name="residualGradient"/> unless it
    /// is empty), and dγ and dβ summed per sequence from zero in row order, the sums added to the gradients in sequence order.
    /// The same bits for every degree of parallelism and micro-batching.</summary>
    /// <exception cref="ArgumentException">As <see cref="KernelArguments.ValidateLayerNormBackward"/>.</exception>
    public static void LayerNormBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseDeviation, ReadOnlySpan<float> outputGradient,
        ReadOnlySpan<float> residualGradient, Span<float> inputGradient, Span<float> gammaGradient, Span<float> betaGradient, int sequenceLength,
        int embeddingDim, int maxDegreeOfParallelism)
    {
        KernelArguments.ValidateLayerNormBackward(
            x, gamma, mean, inverseDeviation, outputGradient, residualGradient, inputGradient, gammaGradient, betaGradient, sequenceLength, embeddingDim);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        TrainingLayerNorm.Backward(
            x, gamma, mean, inverseDeviation, outputGradient, residualGradient, inputGradient, gammaGradient, betaGradient, sequenceLength, maxDegreeOfParallelism);
    }

    /// <summary>The embeddings' backward pass: row r of <paramref name="outputGradient"/> added to row <c>tokens[r]</c> of
    /// <paramref name="tokenGradient"/> and, unless it is empty, to row <c>r mod sequenceLength</c> of
    /// <paramref name="positionGradient"/>; each chunk owns <paramref name="columnBlock"/> columns and walks the rows in order,
    /// so every element gets its additions in row order on any number of threads.</summary>
    /// <exception cref="ArgumentException">As <see cref="KernelArguments.ValidateEmbeddingBackward"/> (token ids are checked before
    /// any write), or <paramref name="columnBlock"/> is not positive.</exception>
    public static void EmbeddingBackward(
        ReadOnlySpan<int> tokens, ReadOnlySpan<float> outputGradient, Span<float> tokenGradient, Span<float> positionGradient, int sequenceLength,
        int embeddingDim, int columnBlock, int maxDegreeOfParallelism)
    {
        KernelArguments.ValidateEmbeddingBackward(tokens, outputGradient, tokenGradient, positionGradient, sequenceLength, embeddingDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columnBlock);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        columnBlock = Math.Min(columnBlock, embeddingDim);
        EmbeddingGradients.ScatterAdd(tokens, outputGradient, tokenGradient, positionGradient, embeddingDim, sequenceLength, columnBlock, maxDegreeOfParallelism);
    }

    /// <summary>The fused, stable softmax cross-entropy of <see cref="SoftmaxCrossEntropy"/> over whole sequences, in chunks of
    /// <paramref name="rowsPerChunk"/> rows on up to <paramref name="maxDegreeOfParallelism"/> threads: each row's gradient alone,
    /// the chunks' loss sums (double, rows in order) added in chunk order, so the loss and gradients do not depend on the threads.</summary>
    /// <returns>The loss sum divided by the count it averages over (<paramref name="averageOver"/>, or the scored targets when 0).</returns>
    /// <exception cref="ArgumentException">As <see cref="KernelArguments.ValidateCrossEntropy"/>, or <paramref name="rowsPerChunk"/> is not positive.</exception>
    public static double CrossEntropy(
        ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, Span<float> logitGradients, int averageOver, int sequenceLength,
        int rowsPerChunk, int maxDegreeOfParallelism)
    {
        int count = KernelArguments.ValidateCrossEntropy(logits, targets, vocabularySize, logitGradients, averageOver, sequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowsPerChunk);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        rowsPerChunk = Math.Min(rowsPerChunk, Math.Max(targets.Length, 1)); // as columnBlock above: one chunk at most of all rows
        return SoftmaxCrossEntropy.Compute(logits, targets, vocabularySize, logitGradients, count, rowsPerChunk, maxDegreeOfParallelism);
    }

    private static void Defined(Activation activation)
    {
        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "activation: not a member of Activation.");
        }
    }

    private static void WholeRows(int length, int rowLength, string name)
    {
        if (rowLength == 0 || length % rowLength != 0)
        {
            throw new ArgumentException($"{name}: expected a whole number of rows of {rowLength}, got {length} floats.", name);
        }
    }

    private static void SameLength(int expected, int length, string name)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{name}: expected {expected} floats, got {length}.", name);
        }
    }
}
