using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FixedShapeAttention.Kernels;

/// <summary>
/// Column sums of a block of rows added to a running total: <c>sums[j] += Σ_r rows[r·stride + j]</c>, the rows summed in
/// float in order from zero first and the block's sum then added, so that a batch summed block by block (a bias
/// gradient, sequence by sequence) gives the same bits however its blocks are grouped into calls. Vectors add the same
/// terms in the same order per element as the scalar loop, so the width does not change the bits;
/// <see cref="PanelGemm"/>'s up-front packing of a weight gradient's dY computes the same sums as it copies.
/// </summary>
internal static class ColumnSums
{
    /// <summary>Adds the column sums of <paramref name="count"/> rows of <paramref name="sums"/>.Length floats, a row
    /// every <paramref name="stride"/> floats, to <paramref name="sums"/>.</summary>
    /// <remarks>Each block of 64 columns keeps its sums in four registers down the rows (a sum in memory would make
    /// every row a store-to-load round trip), starting from zero as a cleared sum would.</remarks>
    public static void AddTo(ReadOnlySpan<float> rows, int stride, int count, Span<float> sums)
    {
        int n = sums.Length, j = 0;
        if (count == 0 || n == 0)
            return;
        if ((long)(count - 1) * stride + n > rows.Length)
            throw new ArgumentException($"rows: expected at least {(long)(count - 1) * stride + n} floats, got {rows.Length}.", nameof(rows));
        ref float d0 = ref MemoryMarshal.GetReference(rows);
        ref float b0 = ref MemoryMarshal.GetReference(sums);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= n - 64; j += 64)
            {
                Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
                for (int r = 0; r < count; r++)
                {
                    nuint o = (nuint)((long)r * stride + j);
                    s0 += Vector512.LoadUnsafe(ref d0, o);
                    s1 += Vector512.LoadUnsafe(ref d0, o + 16);
                    s2 += Vector512.LoadUnsafe(ref d0, o + 32);
                    s3 += Vector512.LoadUnsafe(ref d0, o + 48);
                }

                (Vector512.LoadUnsafe(ref b0, (nuint)j) + s0).StoreUnsafe(ref b0, (nuint)j);
                (Vector512.LoadUnsafe(ref b0, (nuint)j + 16) + s1).StoreUnsafe(ref b0, (nuint)j + 16);
                (Vector512.LoadUnsafe(ref b0, (nuint)j + 32) + s2).StoreUnsafe(ref b0, (nuint)j + 32);
                (Vector512.LoadUnsafe(ref b0, (nuint)j + 48) + s3).StoreUnsafe(ref b0, (nuint)j + 48);
            }

            for (; j <= n - 16; j += 16)
            {
                Vector512<float> sum = Vector512<float>.Zero;
                for (int r = 0; r < count; r++)
                    sum += Vector512.LoadUnsafe(ref d0, (nuint)((long)r * stride + j));
                (Vector512.LoadUnsafe(ref b0, (nuint)j) + sum).StoreUnsafe(ref b0, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            float sum = 0;
            for (int r = 0; r < count; r++)
                sum += Unsafe.Add(ref d0, (nint)((long)r * stride + j));
            Unsafe.Add(ref b0, j) += sum;
        }
    }
}
