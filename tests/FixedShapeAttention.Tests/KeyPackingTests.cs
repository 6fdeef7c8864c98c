using System;
using FixedShapeAttention.Kernels;
using Xunit;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Tests;

/// <summary>The packed Kᵀ against the definition, on the 8×8 register-transpose path and the scalar remainder.</summary>
public class KeyPackingTests
{
    [Theory]
    [InlineData(32, 64, 64, 32)] // one-head S1: whole 8×8 blocks only
    [InlineData(128, 32, 384, 128)] // a MiniLM head inside a 384-wide row
    [InlineData(13, 5, 20, 16)] // head dim not a multiple of 8: scalar throughout
    [InlineData(21, 16, 48, 32)] // 16 keys by blocks, 5 by the scalar remainder, padded columns zeroed
    [InlineData(0, 8, 8, 16)] // every key masked
    public void Packs_the_transpose_and_zeroes_the_padding(int keyCount, int headDim, int sourceStride, int destinationStride)
    {
        var random = new Random(keyCount * 31 + headDim);
        var keys = new float[Math.Max(1, (keyCount == 0 ? 1 : keyCount) * sourceStride)];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = (float)random.NextDouble();
        }

        var keysT = new float[headDim * destinationStride + 1];
        keysT.AsSpan().Fill(float.NaN);

        KeyPacking.PackTransposed(keys, sourceStride, keyCount, headDim, keysT, destinationStride);

        for (int c = 0; c < headDim; c++)
        {
            for (int key = 0; key < destinationStride; key++)
            {
                float expected = key < keyCount ? keys[key * sourceStride + c] : 0f;
                Assert.Equal(expected, keysT[c * destinationStride + key]);
            }
        }

        Assert.True(float.IsNaN(keysT[^1]), "wrote past the last packed row");
    }
}
