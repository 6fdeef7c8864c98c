// Runtime-shape attention: the fallback, the benchmark baseline and the second driver of the algorithm the generated
// kernels run. Per (sequence, head, row range): pack Kᵀ with zero-padded columns, scores = Q·Kᵀ·(log₂e/√d) (SoftmaxContract.ScoreScale) through
// GenericGemm, the padded, masked and (causal) future columns set to -inf, RowSoftmax (SoftmaxContract: exp weights
// and a 1/Σ per row), then output = P·V through GenericGemm with each row times its 1/Σ. The lanes, the padding, the
// softmax and the order of every sum are the generated kernel's, so the outputs are the same bits.

using System;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Scheduling;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

internal readonly unsafe struct GenericAttentionKernel<TVec, TOps> : IChunkKernel
    where TVec : struct
    where TOps : IVectorOps<TVec>
{
    private readonly int _sequenceLength, _embeddingDim, _heads, _headDim, _chunksPerHead, _paddedLength, _scoreLanes;
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
        // Score rows are padded to whole vectors of the widest lanes the keys fill, so that softmax never needs a tail;
        // the scores product (and so the softmax) then runs at the lanes of the padded row, as the generated one does.
        int keyLanes = TileTable.LanesFor(TOps.Count, shape.SequenceLength);
        _paddedLength = (shape.SequenceLength + keyLanes - 1) / keyLanes * keyLanes;
        _scoreLanes = TileTable.LanesFor(TOps.Count, _paddedLength);
        _scale = SoftmaxContract.ScoreScale(shape.HeadDim);
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
        fixed (float* scratch = WorkerScratch.Get(d * padded + blockRows * padded + blockRows))
        {
            float* keysTransposed = scratch;
            float* scores = scratch + d * padded;
            float* rowScales = scores + blockRows * padded;

            // The keys of this head: s rows of stride e, the last one d long; Kᵀ: d rows of the padded length.
            KeyPacking.PackTransposed(new ReadOnlySpan<float>(k, (s - 1) * e + d), e, s, d, new Span<float>(keysTransposed, d * padded), padded);

            for (int blockStart = rowStart; blockStart < rowEnd; blockStart += blockRows)
            {
                int blockLength = Math.Min(blockRows, rowEnd - blockStart);
                GenericGemm.Multiply<TVec, TOps, ScaleEpilogue>(q + blockStart * e, e, keysTransposed, padded, scores, padded, blockLength, padded, d, new ScaleEpilogue(_scale));

                for (int r = 0; r < blockLength; r++)
                {
                    int visible, end;
                    if (_causal)
                    {
                        // P·V reads this row's weights up to its own position only: the softmax stops at the vector holding it.
                        int reach = blockStart + r + 1;
                        visible = Math.Min(reach, keyCount);
                        end = (reach + _scoreLanes - 1) / _scoreLanes * _scoreLanes;
                    }
                    else
                    {
                        visible = keyCount;
                        end = padded;
                    }

                    float* row = scores + r * padded;
                    new Span<float>(row + visible, end - visible).Fill(float.NegativeInfinity);
                    rowScales[r] = Softmax(row, end);
                }

                if (_causal)
                {
                    // Row i reads only keys 0..i, so masked keys never meet a weight of 0 (0·∞ would be NaN).
                    for (int r = 0; r < blockLength; r++)
                    {
                        int reach = blockStart + r + 1;
                        GenericGemm.Multiply<TVec, TOps, RowScaleEpilogue>(
                            scores + r * padded, padded, v, e, output + (blockStart + r) * e, e, 1, d, reach, new RowScaleEpilogue(rowScales + r), attentionOutput: true);
                    }
                }
                else
                {
                    GenericGemm.Multiply<TVec, TOps, RowScaleEpilogue>(
                        scores, padded, v, e, output + blockStart * e, e, blockLength, d, s, new RowScaleEpilogue(rowScales), attentionOutput: true);
                }
            }
        }
    }

    private float Softmax(float* row, int end)
    {
        if (_scoreLanes == TOps.Count)
        {
            return RowSoftmax.ExpAndReciprocalSum<TVec, TOps>(row, end);
        }

        return _scoreLanes switch
        {
            8 => RowSoftmax.ExpAndReciprocalSum<Vector256<float>, Vector256Ops>(row, end),
            4 => RowSoftmax.ExpAndReciprocalSum<Vector128<float>, Vector128Ops>(row, end),
            _ => RowSoftmax.ExpAndReciprocalSum<float, ScalarOps>(row, end),
        };
    }
}
