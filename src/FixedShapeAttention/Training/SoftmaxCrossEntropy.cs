using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Training;

/// <summary>
/// The fused, stable softmax cross-entropy of a language-model head: the mean over rows of
/// <c>log Σⱼ e^(zⱼ) − z_target</c>, and its gradient with respect to the logits, <c>(softmax(z) − onehot(target)) / n</c>,
/// in one pass per row. A row whose target is <see cref="IgnoreIndex"/> (padding) adds no loss and gets a zero gradient;
/// n counts the other rows.
/// </summary>
/// <remarks>
/// Stability: each row subtracts its maximum before the exponential (so e^x ≤ 1 and nothing overflows), and the
/// exponentials are summed in double, so a vocabulary of any size loses no accuracy in the sum; log Σ and the loss
/// are formed in double. The gradient is e^(z − max) · (1 / (Σ·n)) rounded to float: within 2 ulp of the exact value
/// given the float exponential's 1 ulp. The target's, (p − 1)/n, is −(Σ − e^(z_target − max))/(Σ·n) in double: the
/// others' share, so it keeps its digits when the target takes almost all of the probability.
/// </remarks>
public static class SoftmaxCrossEntropy
{
    /// <summary>The target of a row that is not scored (PyTorch's default <c>ignore_index</c>).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>Computes the mean loss and writes the logits' gradient.</summary>
    /// <param name="logits">[rows, <paramref name="vocabularySize"/>], row-major.</param>
    /// <param name="targets">[rows]: each a token in [0, vocabularySize) or <see cref="IgnoreIndex"/>.</param>
    /// <param name="logitGradients">[rows, vocabularySize]; may be the same memory as <paramref name="logits"/>
    /// (the gradient then overwrites them, as llm.c does), but not partly overlap it.</param>
    /// <returns>The mean loss over the scored rows; 0 when every row is ignored.</returns>
    /// <exception cref="ArgumentException">A length does not match, or the buffers partly overlap.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is outside the vocabulary (checked before any write).</exception>
    public static double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, Span<float> logitGradients) =>
        Compute(logits, targets, vocabularySize, logitGradients, averageOver: 0);

    /// <summary>As the other overload, but averaging over <paramref name="averageOver"/> targets instead of this call's
    /// scored rows: with the scored targets of a whole batch, the micro-batches' losses and gradients add up to the
    /// batch's, the gradients to the same bits (each is e^(z − max) times one float scale either way).</summary>
    /// <param name="averageOver">The count to divide by, at least this call's scored rows; 0 means this call's.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="averageOver"/> is negative, or positive but below
    /// the scored rows.</exception>
    public static double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, Span<float> logitGradients, int averageOver)
    {
        int count = Validate(logits, targets, vocabularySize, logitGradients, averageOver);
        double inverseCount = count == 0 ? 0 : 1.0 / count;
        return Rows(logits, targets, vocabularySize, logitGradients, inverseCount) * inverseCount;
    }

    /// <summary>
    /// As <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{int}, int, Span{float}, int)"/>, in chunks of
    /// <paramref name="rowsPerChunk"/> rows on up to <paramref name="maxDegreeOfParallelism"/> threads: each row's gradient
    /// is computed alone, so its bits do not depend on the chunks; each chunk's loss sum (in double, rows in order) is
    /// then added in chunk order, so the loss does not depend on the threads either. The caller has validated
    /// (<see cref="Validate"/>, which returned <paramref name="count"/>).
    /// </summary>
    internal static unsafe double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, Span<float> logitGradients,
        int count, int rowsPerChunk, int maxDegreeOfParallelism)
    {
        int rows = targets.Length, chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        double inverseCount = count == 0 ? 0 : 1.0 / count;
        // One double per chunk, in the call's scratch (two floats each): the chunks write their own, the caller adds them in order.
        Span<float> partials = CallScratch.Get(2 * chunks);
        fixed (float* pz = logits, pdz = logitGradients, pp = partials)
        fixed (int* pt = targets)
        {
            var kernel = new RowsKernel(pz, pt, pdz, (double*)pp, rows, vocabularySize, rowsPerChunk, inverseCount);
            ParallelRunner.Run(kernel, chunks, 12L * rows * vocabularySize, maxDegreeOfParallelism, default, default, default, default, default, default);
            double lossSum = 0;
            for (int chunk = 0; chunk < chunks; chunk++)
                lossSum += ((double*)pp)[chunk];
            return lossSum * inverseCount;
        }
    }

    /// <summary>Checks the arguments of <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{int}, int, Span{float}, int)"/>
    /// before anything is written, and returns the count the loss is averaged over.</summary>
    internal static int Validate(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, ReadOnlySpan<float> logitGradients, int averageOver)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        int rows = targets.Length;
        if ((long)rows * vocabularySize != logits.Length)
            throw new ArgumentException(
                $"logits: expected {(long)rows * vocabularySize} = {rows}×{vocabularySize} (targets × vocabularySize), got {logits.Length}.", nameof(logits));
        if (logitGradients.Length != logits.Length)
            throw new ArgumentException($"logitGradients: expected {logits.Length} (the length of logits), got {logitGradients.Length}.", nameof(logitGradients));
        if (logits.Overlaps(logitGradients, out int offset) && offset != 0)
            throw new ArgumentException("logitGradients: partly overlaps logits; pass the same memory or separate buffers.", nameof(logitGradients));

        int scored = 0;
        for (int row = 0; row < rows; row++)
        {
            int target = targets[row];
            if (target == IgnoreIndex)
                continue;
            if ((uint)target >= (uint)vocabularySize)
                throw new ArgumentOutOfRangeException(nameof(targets), target, $"targets[{row}]: expected a token in [0, {vocabularySize}) or IgnoreIndex ({IgnoreIndex}).");
            scored++;
        }

        if (averageOver < 0 || (averageOver > 0 && averageOver < scored))
            throw new ArgumentOutOfRangeException(nameof(averageOver), averageOver, $"averageOver: expected 0 or at least the {scored} scored targets.");
        return averageOver == 0 ? scored : averageOver;
    }

    /// <summary>The gradients of the rows, and the sum of their losses in double, rows in order.</summary>
    private static double Rows(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, Span<float> logitGradients, double inverseCount)
    {
        double lossSum = 0;
        for (int row = 0; row < targets.Length; row++)
        {
            ReadOnlySpan<float> z = logits.Slice(row * vocabularySize, vocabularySize);
            Span<float> dz = logitGradients.Slice(row * vocabularySize, vocabularySize);
            int target = targets[row];
            if (target == IgnoreIndex)
            {
                dz.Clear();
                continue;
            }

            float targetLogit = z[target];
            float max = Max(z);
            // dz may be z itself: ExpAndSum reads each element before it writes it.
            double sum = ExpAndSum(z, max, dz);
            // The target's p − 1 is −(the others' share), taken from the double sum without the target's term:
            // p·(1/n) − 1/n in float cancels as p → 1 and kept no digit of a gradient below 2⁻²⁴/n. Where the others are
            // below the sum's own rounding (the target ahead by some 30 logits), they are added again from zero, and
            // log Σ = log e_target + log(1 + r), r = others / e_target < 2⁻³⁰, is taken as r − r²/2 (Σ itself is e_target).
            double others = sum - dz[target];
            double logSum;
            if (others < sum * OthersResummedBelow)
            {
                others = SumExcept(dz, target);
                double r = others / dz[target];
                logSum = Math.Log(dz[target]) + (r - r * r / 2);
            }
            else
            {
                logSum = Math.Log(sum);
            }

            // max − targetLogit is exact in double; added last, a loss near 0 keeps its digits.
            lossSum += (max - (double)targetLogit) + logSum;
            Scale(dz, (float)(inverseCount / sum));
            dz[target] = (float)(-(others / sum) * inverseCount);
        }

        return lossSum;
    }

    private readonly unsafe struct RowsKernel(float* logits, int* targets, float* gradients, double* partials, int rows, int vocabularySize, int rowsPerChunk, double inverseCount)
        : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int first = chunk * rowsPerChunk, count = Math.Min(rows, first + rowsPerChunk) - first;
            nint offset = (nint)first * vocabularySize, length = (nint)count * vocabularySize;
            partials[chunk] = Rows(
                new ReadOnlySpan<float>(logits + offset, (int)length), new ReadOnlySpan<int>(targets + first, count), vocabularySize,
                new Span<float>(gradients + offset, (int)length), inverseCount);
        }
    }

    // MathF.Max returns NaN when either argument is NaN, and Vector256.Max does the same per lane (IEEE 754:2019 maximum).
    private static float Max(ReadOnlySpan<float> z)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && z.Length >= Vector256<float>.Count)
        {
            var acc = Vector256.Create(float.NegativeInfinity);
            for (; i <= z.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                acc = Vector256.Max(acc, Vector256.Create(z.Slice(i, Vector256<float>.Count)));
            for (int lane = 0; lane < Vector256<float>.Count; lane++)
                max = MathF.Max(max, acc[lane]);
        }

        for (; i < z.Length; i++)
            max = MathF.Max(max, z[i]);
        return max;
    }

    /// <summary>Writes e^(z − max) to <paramref name="exp"/> and returns their sum, accumulated in double.</summary>
    private static double ExpAndSum(ReadOnlySpan<float> z, float max, Span<float> exp)
    {
        int i = 0;
        double sum = 0;
        ref float source = ref MemoryMarshal.GetReference(z);
        ref float destination = ref MemoryMarshal.GetReference(exp);
        if (Vector256.IsHardwareAccelerated)
        {
            var maxVector = Vector256.Create(max);
            var lower = Vector256<double>.Zero;
            var upper = Vector256<double>.Zero;
            for (; i <= z.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var e = ExpOperator.Invoke(Vector256.LoadUnsafe(ref source, (nuint)i) - maxVector);
                e.StoreUnsafe(ref destination, (nuint)i);
                var (low, high) = Vector256.Widen(e);
                lower += low;
                upper += high;
            }

            sum = Vector256.Sum(lower + upper);
        }

        for (; i < z.Length; i++)
        {
            float e = ExpOperator.Invoke(Unsafe.Add(ref source, i) - max);
            Unsafe.Add(ref destination, i) = e;
            sum += e;
        }

        return sum;
    }

    /// <summary>Where Σ − e_target loses too many digits to Σ's rounding (2⁻⁵³ per add, a few hundred adds): 2⁻³⁰.</summary>
    private const double OthersResummedBelow = 1.0 / (1L << 30);

    /// <summary>Σ of the row's exponentials but one, in double, in order.</summary>
    private static double SumExcept(ReadOnlySpan<float> exp, int skipped)
    {
        double sum = 0;
        for (int j = 0; j < exp.Length; j++)
        {
            if (j != skipped)
                sum += exp[j];
        }

        return sum;
    }

    private static void Scale(Span<float> values, float factor)
    {
        int i = 0;
        ref float start = ref MemoryMarshal.GetReference(values);
        if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref start, (nuint)i) * f).StoreUnsafe(ref start, (nuint)i);
        }

        for (; i < values.Length; i++)
            Unsafe.Add(ref start, i) *= factor;
    }
}
