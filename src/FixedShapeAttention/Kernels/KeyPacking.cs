using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FixedShapeAttention.Kernels;

/// <summary>Packs one head's keys transposed, the B operand of Q·Kᵀ, for the generated and the generic kernels.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class KeyPacking
{
    private const int KeyBlock = 16;

    /// <summary>
    /// <c>keysT[c·destinationStride + key] = keys[key·sourceStride + c]</c> for <c>key &lt; keyCount</c>,
    /// <c>c &lt; headDim</c>; columns <c>[keyCount, destinationStride)</c> of every row are zeroed so whole vectors load.
    /// </summary>
    /// <remarks>
    /// Blocked by 16 keys: the 16 source rows stay in L1 while every destination row receives one whole cache line.
    /// Walking keys in the inner loop of all columns instead writes with a stride of destinationStride floats, which
    /// for power-of-two sequence lengths maps every write to the same few L1 sets and misses on nearly each one.
    /// </remarks>
    public static void PackTransposed(ref float keys, int sourceStride, int keyCount, int headDim, ref float keysT, int destinationStride)
    {
        for (int block = 0; block < keyCount; block += KeyBlock)
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
}
