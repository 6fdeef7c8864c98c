// Runtime-shape attention: the fallback, the benchmark baseline and an independent second implementation the
// tests hold the generated kernels against. Per (sequence, head, row range): pack Kᵀ with zero-padded columns,
// scores = Q·Kᵀ·(1/√d) through GenericGemm, the padded, masked and (causal) future columns set to -inf, RowSoftmax,
// then output = P·V through GenericGemm.

using System;
using FixedShapeAttention.Scheduling;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

internal readonly unsafe struct GenericAttentionKernel<TVec, TOps> : IChunkKernel
    where TVec : struct
    where TOps : IVectorOps<TVec>
{
    private readonly int _sequenceLength, _embeddingDim, _heads, _headDim, _chunksPerHead, _paddedLength;
    private readonly bool _causal;
    private readonly float _scale;

    public GenericAttentionKernel(TransformerShape shape, int chunksPerHead)
    {
        _sequenceLength = shape.SequenceLength;
        _embeddingDim = shape.EmbeddingDim;
        _heads = shape.Heads;
        _headDim = shape.HeadDim;
        _causal = shape.Causal;
        _chunksPerHead = chunksPerHead;
        // Score rows are padded to whole vectors so that softmax never needs a tail.
        _paddedLength = (shape.SequenceLength + TOps.Count - 1) / TOps.Count * TOps.Count;
        _scale = (float)(1.0 / Math.Sqrt(shape.HeadDim));
    }

    public void Execute(in KernelBuffers buffers, int chunk)
    {
        int s = _sequenceLength, e = _embeddingDim, d = _headDim, padded = _paddedLength;
        int sequence = chunk / (_heads * _chunksPerHead);
        int head = chunk / _chunksPerHead % _heads;
        int part = chunk % _chunksPerHead;
        int tiles = ChunkSizing.RowTiles(s);
        int rowStart = RowPartition.Start(tiles, _chunksPerHead, part) * ChunkSizing.RowTile;
        int rowEnd = Math.Min(s, rowStart + RowPartition.Count(tiles, _chunksPerHead, part) * ChunkSizing.RowTile);
        int rows = rowEnd - rowStart;
        int keyCount = buffers.SequenceCount(sequence, s);

        nint headOffset = (nint)sequence * s * e + head * d;
        float* q = buffers.Input0Pointer + headOffset;
        float* k = buffers.Input1Pointer + headOffset;
        float* v = buffers.Input2Pointer + headOffset;
        float* output = buffers.OutputPointer + headOffset;

        // Score rows in blocks that stay in L2 from Q·Kᵀ through P·V; Kᵀ is packed once for all of them.
        int blockRows = Math.Min(rows, ChunkSizing.AttentionBlockTiles(padded) * ChunkSizing.RowTile);
        fixed (float* scratch = WorkerScratch.Get(d * padded + blockRows * padded))
        {
            float* keysTransposed = scratch;
            float* scores = scratch + d * padded;

            KeyPacking.PackTransposed(ref *k, e, s, d, ref *keysTransposed, padded);

            for (int blockStart = rowStart; blockStart < rowEnd; blockStart += blockRows)
            {
                int blockLength = Math.Min(blockRows, rowEnd - blockStart);
                GenericGemm.Multiply<TVec, TOps, ScaleEpilogue>(q + blockStart * e, e, keysTransposed, padded, scores, padded, blockLength, padded, d, new ScaleEpilogue(_scale));

                for (int r = 0; r < blockLength; r++)
                {
                    int visible = _causal ? Math.Min(blockStart + r + 1, keyCount) : keyCount;
                    new Span<float>(scores + r * padded + visible, padded - visible).Fill(float.NegativeInfinity);
                    RowSoftmax.Apply<TVec, TOps>(scores + r * padded, padded);
                }

                if (_causal)
                {
                    // Row i reads only keys 0..i, so masked keys never meet a weight of 0 (0·∞ would be NaN).
                    for (int r = 0; r < blockLength; r++)
                    {
                        int visible = blockStart + r + 1;
                        GenericGemm.Multiply<TVec, TOps, IdentityEpilogue>(scores + r * padded, padded, v, e, output + (blockStart + r) * e, e, 1, d, visible, default);
                    }
                }
                else
                {
                    GenericGemm.Multiply<TVec, TOps, IdentityEpilogue>(scores, padded, v, e, output + blockStart * e, e, blockLength, d, s, default);
                }
            }
        }
    }
}
