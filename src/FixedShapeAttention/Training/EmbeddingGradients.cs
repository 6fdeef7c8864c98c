using System;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Training;

/// <summary>
/// The backward pass of the token and learned position embeddings: row r of the input's gradient is added to the token
/// embedding's gradient row <c>tokens[r]</c> and to the position embedding's row <c>r mod SequenceLength</c>. A scatter
/// whose rows collide (a token repeats), so it is not split by rows: each chunk owns a block of columns of every
/// embedding row and walks the rows in order. Every element then receives its additions in row order whatever the
/// degree of parallelism, without a race or a reduction buffer.
/// </summary>
internal static unsafe class EmbeddingGradients
{
    /// <summary>tokenGradient[tokens[r]] += dx[r] and, unless <paramref name="positionGradient"/> is empty,
    /// positionGradient[r mod sequenceLength] += dx[r], for every row in order. The caller has checked the ids.</summary>
    public static void ScatterAdd(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dx, Span<float> tokenGradient, Span<float> positionGradient,
        int width, int sequenceLength, int columnBlock, int maxDegreeOfParallelism)
    {
        fixed (int* pt = tokens)
        fixed (float* pdx = dx, ptg = tokenGradient, ppg = positionGradient)
        {
            var kernel = new ScatterKernel(pt, pdx, ptg, positionGradient.IsEmpty ? null : ppg, tokens.Length, width, sequenceLength, columnBlock, tokenGradient.Length / width);
            ParallelRunner.Run(kernel, (width + columnBlock - 1) / columnBlock, 2L * tokens.Length * width, maxDegreeOfParallelism, default, default, default, default, default, default);
        }
    }

    private readonly struct ScatterKernel(
        int* tokens, float* dx, float* tokenGradient, float* positionGradient, int rows, int width, int sequenceLength, int columnBlock, int vocabulary) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int first = chunk * columnBlock, count = Math.Min(width, first + columnBlock) - first;
            for (int r = 0; r < rows; r++)
            {
                float* row = dx + (nint)r * width + first;
                int token = tokens[r];
                // Checked before the call; read once more here so that ids another thread changes meanwhile cannot reach
                // memory outside the gradient (one compare a row).
                if ((uint)token >= (uint)vocabulary)
                {
                    throw new InvalidOperationException($"tokens[{r}] changed to {token} during the call; expected a token in [0, {vocabulary}).");
                }

                Add(tokenGradient + (nint)token * width + first, row, count);
                if (positionGradient is not null)
                    Add(positionGradient + (nint)(r % sequenceLength) * width + first, row, count);
            }
        }
    }

    /// <summary>target[i] += addend[i]: one rounding per element at any width.</summary>
    private static void Add(float* target, float* addend, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= count - 8; i += 8)
                (Vector256.Load(target + i) + Vector256.Load(addend + i)).Store(target + i);
        }

        for (; i < count; i++)
            target[i] += addend[i];
    }
}
