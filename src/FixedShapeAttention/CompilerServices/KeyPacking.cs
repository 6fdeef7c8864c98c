using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FixedShapeAttention.CompilerServices;

/// <summary>Packs one head's keys transposed, the B operand of Q·Kᵀ, for the generated and the generic kernels.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class KeyPacking
{
    private const int KeyBlock = 16;

    /// <summary>
    /// <c>keysT[c·destinationStride + key] = keys[key·sourceStride + c]</c> for <c>key &lt; keyCount</c>,
    /// <c>c &lt; headDim</c>; columns <c>[keyCount, destinationStride)</c> of every row are zeroed so whole vectors load.
    /// </summary>
    /// <remarks>Generated kernels pass spans of their head's constant extents (<c>MemoryMarshal.CreateSpan</c> over the
    /// call's buffers and the thread's scratch); the lengths are checked here, so no argument reaches past a span.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A count or stride is negative, or <paramref name="destinationStride"/> is below <paramref name="keyCount"/>.</exception>
    /// <exception cref="ArgumentException">A span is shorter than the rows it must hold; the message names the length needed.</exception>
    public static void PackTransposed(ReadOnlySpan<float> keys, int sourceStride, int keyCount, int headDim, Span<float> keysT, int destinationStride)
    {
        (long read, long written) = Extents(sourceStride, keyCount, headDim, destinationStride);
        if (keys.Length < read)
        {
            throw new ArgumentException($"keys: expected at least {read} = ({keyCount} − 1)×{sourceStride} + {headDim} (keyCount rows of sourceStride), got {keys.Length}.", nameof(keys));
        }

        if (keysT.Length < written)
        {
            throw new ArgumentException($"keysT: expected at least {written} = {headDim}×{destinationStride} (headDim rows of destinationStride), got {keysT.Length}.", nameof(keysT));
        }

        Pack(ref MemoryMarshal.GetReference(keys), sourceStride, keyCount, headDim, ref MemoryMarshal.GetReference(keysT), destinationStride);
    }

    /// <summary>The floats read from the keys and written to Kᵀ, after checking the counts and strides.</summary>
    private static (long Read, long Written) Extents(int sourceStride, int keyCount, int headDim, int destinationStride)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sourceStride);
        ArgumentOutOfRangeException.ThrowIfNegative(keyCount);
        ArgumentOutOfRangeException.ThrowIfNegative(headDim);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, keyCount);
        long read = keyCount == 0 || headDim == 0 ? 0 : (long)(keyCount - 1) * sourceStride + headDim;
        long written = (long)headDim * destinationStride;
        return (read, written);
    }

    // Blocked by 16 keys: the 16 source rows stay in L1 while every destination row receives one whole cache line.
    // Walking keys in the inner loop of all columns instead writes with a stride of destinationStride floats, which
    // for power-of-two sequence lengths maps every write to the same few L1 sets and misses on nearly each one.
    private static void Pack(ref float keys, int sourceStride, int keyCount, int headDim, ref float keysT, int destinationStride)
    {
        int firstScalarKey = 0;
        if (Avx.IsSupported && headDim % 8 == 0)
        {
            // 16 keys at a time, two 8×8 blocks side by side, so each destination row gets one whole cache line per
            // step. One 8×8 block at a time wrote half lines; with a power-of-two destination stride every row of Kᵀ
            // maps to the same two L1 sets, the half-written lines were evicted before their other half came, and at
            // 512 tokens packing took a quarter of the attention call.
            firstScalarKey = keyCount - keyCount % KeyBlock;
            for (int key = 0; key < firstScalarKey; key += KeyBlock)
            {
                ref float source = ref Unsafe.Add(ref keys, (nint)key * sourceStride);
                ref float destination = ref Unsafe.Add(ref keysT, key);
                for (int c = 0; c < headDim; c += 8)
                {
                    ref float destinationRows = ref Unsafe.Add(ref destination, (nint)c * destinationStride);
                    Transpose8x8(ref Unsafe.Add(ref source, c), sourceStride, ref destinationRows, destinationStride);
                    Transpose8x8(ref Unsafe.Add(ref source, (nint)8 * sourceStride + c), sourceStride, ref Unsafe.Add(ref destinationRows, 8), destinationStride);
                }
            }
        }

        for (int block = firstScalarKey; block < keyCount; block += KeyBlock)
        {
            int end = Math.Min(block + KeyBlock, keyCount);
            for (int c = 0; c < headDim; c++)
            {
                ref float row = ref Unsafe.Add(ref keysT, (nint)c * destinationStride);
                for (int key = block; key < end; key++)
                {
                    Unsafe.Add(ref row, key) = Unsafe.Add(ref keys, (nint)key * sourceStride + c);
                }
            }
        }

        if (destinationStride > keyCount)
        {
            for (int c = 0; c < headDim; c++)
            {
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref keysT, (nint)c * destinationStride + keyCount), destinationStride - keyCount).Clear();
            }
        }
    }

    /// <summary>
    /// One 8×8 block in registers: 8 row loads, 24 shuffles, 8 row stores, against 64 scalar load/store pairs; at 32
    /// tokens the scalar copy was a fifth of a one-head attention call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float source, int sourceStride, ref float destination, int destinationStride)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref source);
        Vector256<float> r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, (nint)sourceStride));
        Vector256<float> r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, (nint)2 * sourceStride));
        Vector256<float> r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, (nint)3 * sourceStride));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, (nint)4 * sourceStride));
        Vector256<float> r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, (nint)5 * sourceStride));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, (nint)6 * sourceStride));
        Vector256<float> r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, (nint)7 * sourceStride));

        // Interleave pairs of rows, then pairs of pairs: within each 128-bit lane, column j of rows 0–3 (4–7).
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);

        // Join the rows 0–3 and rows 4–7 halves: low lanes give columns 0–3, high lanes columns 4–7.
        Vector256.StoreUnsafe(Avx.Permute2x128(u0, u4, 0x20), ref destination);
        Vector256.StoreUnsafe(Avx.Permute2x128(u1, u5, 0x20), ref Unsafe.Add(ref destination, (nint)destinationStride));
        Vector256.StoreUnsafe(Avx.Permute2x128(u2, u6, 0x20), ref Unsafe.Add(ref destination, (nint)2 * destinationStride));
        Vector256.StoreUnsafe(Avx.Permute2x128(u3, u7, 0x20), ref Unsafe.Add(ref destination, (nint)3 * destinationStride));
        Vector256.StoreUnsafe(Avx.Permute2x128(u0, u4, 0x31), ref Unsafe.Add(ref destination, (nint)4 * destinationStride));
        Vector256.StoreUnsafe(Avx.Permute2x128(u1, u5, 0x31), ref Unsafe.Add(ref destination, (nint)5 * destinationStride));
        Vector256.StoreUnsafe(Avx.Permute2x128(u2, u6, 0x31), ref Unsafe.Add(ref destination, (nint)6 * destinationStride));
        Vector256.StoreUnsafe(Avx.Permute2x128(u3, u7, 0x31), ref Unsafe.Add(ref destination, (nint)7 * destinationStride));
    }
}
