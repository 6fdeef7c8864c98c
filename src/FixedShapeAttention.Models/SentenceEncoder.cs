using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models;

/// <summary>
/// A BERT-family sentence encoder end to end on generated kernels: WordPiece tokens, BERT embeddings, the encoder
/// layers, then sentence-transformers' pooling (mean, CLS or max) and optional L2 normalisation. The layer widths are
/// those of a <see cref="SentenceEncoderShapeAttribute"/> declaration (<see cref="MiniLmShape"/> for all-MiniLM);
/// the layer count, vocabulary and ε come from the model.
/// </summary>
/// <remarks>
/// <para>Variable-length input runs on fixed shapes through buckets. <see cref="Embed(IReadOnlyList{string}, CancellationToken)"/>
/// tokenizes every text once, sorts the texts by token count, and runs each group on the smallest of
/// <see cref="SequenceBuckets"/> that holds it, in batches of at most <see cref="SentenceEncoderOptions.MaxTokensPerBatch"/>
/// padded tokens; results come back in the caller's order. Padding is masked out of attention. Text longer than
/// <see cref="MaxTokens"/> is truncated, keeping the final [SEP].</para>
/// <para>Thread-safe: concurrent calls each take a workspace from a pool (a new one when none is free), so they run
/// side by side instead of queueing; each call uses up to <see cref="SentenceEncoderOptions.MaxDegreeOfParallelism"/>
/// threads. Results are bit-identical whatever the thread count and whatever else runs.</para>
/// </remarks>
public sealed class SentenceEncoder
{
    private readonly BertWeights _weights;
    private readonly WordPieceTokenizer _tokenizer;
    private readonly BertEmbeddings _embeddings;
    private readonly int[] _buckets;
    private readonly int _hidden;
    private readonly int? _maxDegreeOfParallelism;
    private readonly WorkspacePool _workspaces;

    private SentenceEncoder(
        BertWeights weights, WordPieceTokenizer tokenizer, ShapeDeclaration shape, SentenceTransformersConfig directory, SentenceEncoderOptions options,
        Func<EncoderLayerParameters, EncoderLayerWeights> pack, Func<int, IReadOnlyList<EncoderLayerWeights>, float, ITransformerEncoder> createEncoder)
    {
        BertConfig config = CheckWeights(weights);
        shape.CheckMatches(config, "the weights");
        int maxTokens = options.MaxTokens ?? Math.Min(directory.MaxSeqLength ?? shape.MaxLength, shape.MaxLength);
        if (options.MaxTokens is int requested && (requested < 2 || requested > shape.MaxLength))
        {
            throw new ArgumentOutOfRangeException(nameof(options), requested, $"options.MaxTokens: expected 2 to {shape.MaxLength} ({shape.Name}'s MaxLength), got {requested}.");
        }

        if (options.MaxTokensPerBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxTokensPerBatch, $"options.MaxTokensPerBatch: expected at least 1, got {options.MaxTokensPerBatch}.");
        }

        if (options.MaxPooledWorkspaces < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPooledWorkspaces, $"options.MaxPooledWorkspaces: expected 0 or more, got {options.MaxPooledWorkspaces}.");
        }

        if (options.MaxDegreeOfParallelism is int threads && (threads == 0 || threads < -1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), threads, $"options.MaxDegreeOfParallelism: expected -1 or a positive count, got {threads}.");
        }

        if (options.Pooling is SentencePooling pooling && !Enum.IsDefined(pooling))
        {
            throw new ArgumentOutOfRangeException(nameof(options), pooling, $"options.Pooling: expected Mean, Cls or Max, got {(int)pooling}.");
        }

        if (directory.PoolingDimension is int poolingWidth && poolingWidth != config.HiddenSize)
        {
            throw new InvalidDataException(
                $"1_Pooling/config.json's word_embedding_dimension is {poolingWidth}, but the model's hidden size is {config.HiddenSize} ({shape.Name} declares {shape.HiddenSize}).");
        }

        _weights = weights;
        _tokenizer = tokenizer;
        _embeddings = new BertEmbeddings(weights);
        _hidden = config.HiddenSize;
        // Buckets past the truncation length would never run: the last kept one is the first that holds MaxTokens.
        _buckets = shape.Buckets.Take(LengthBatches.BucketIndex(shape.Buckets, maxTokens) + 1).ToArray();
        MaxTokens = maxTokens;
        Pooling = options.Pooling ?? directory.Pooling ?? SentencePooling.Mean;
        Normalize = options.Normalize ?? directory.Normalize ?? true;
        MaxTokensPerBatch = options.MaxTokensPerBatch;
        _maxDegreeOfParallelism = options.MaxDegreeOfParallelism;
        SequenceBuckets = new ReadOnlyCollection<int>(_buckets);
        ShapeName = shape.Name;

        // The packed layout depends on the widths only, so one packing serves every bucket and every workspace.
        EncoderLayerWeights[] layers = weights.Layers.Select(pack).ToArray();
        float epsilon = config.LayerNormEpsilon;
        int[] buckets = _buckets;
        _workspaces = new WorkspacePool(
            () => new EncoderWorkspace(buckets.Length, bucketIndex => createEncoder(buckets[bucketIndex], layers, epsilon)),
            options.MaxPooledWorkspaces);
    }

    /// <summary>The name of the <see cref="SentenceEncoderShapeAttribute"/> class whose kernels this encoder runs.</summary>
    public string ShapeName { get; }

    /// <summary>The sequence lengths a batch is padded to, shortest first; the last holds <see cref="MaxTokens"/>.</summary>
    public IReadOnlyList<int> SequenceBuckets { get; }

    /// <summary>The longest input, in tokens with [CLS] and [SEP]; longer text is truncated to it.</summary>
    public int MaxTokens { get; }

    /// <summary>Width of the hidden states and of the sentence embeddings.</summary>
    public int EmbeddingDim => _hidden;

    /// <summary>How token states become one vector.</summary>
    public SentencePooling Pooling { get; }

    /// <summary>Whether embeddings are L2-normalised.</summary>
    public bool Normalize { get; }

    /// <summary>The most padded tokens one forward pass runs.</summary>
    public int MaxTokensPerBatch { get; }

    /// <summary>The model's dimensions.</summary>
    public BertConfig Config => _weights.Config;

    /// <summary>The tokenizer built from the model's vocabulary.</summary>
    public WordPieceTokenizer Tokenizer => _tokenizer;

    /// <summary>Workspaces made so far (the tests read it to see that concurrent calls did not queue).</summary>
    internal int WorkspacesCreated => _workspaces.Created;

    /// <summary>Lets a test hold a workspace, as a concurrent call would.</summary>
    internal WorkspacePool Workspaces => _workspaces;

    /// <summary>
    /// Loads a BERT-family ONNX export (model.onnx, weights inside the file) and its vocab.txt from files, for the
    /// kernels of <typeparamref name="TShape"/>.
    /// </summary>
    /// <typeparam name="TShape">A <see cref="SentenceEncoderShapeAttribute"/> class with the model's widths, e.g. <see cref="MiniLmShape"/>.</typeparam>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="vocabularyPath">The model's vocab.txt (uncased: input is lower-cased).</param>
    /// <param name="options">Pooling, normalisation and batching; null for mean pooling, normalised, the shape's MaxLength.</param>
    /// <exception cref="InvalidDataException">A file is malformed, or the model's widths differ from <typeparamref name="TShape"/>'s (the message names both).</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    public static SentenceEncoder Load<TShape>(string modelPath, string vocabularyPath, SentenceEncoderOptions? options = null)
        where TShape : ISentenceEncoderShape
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentNullException.ThrowIfNull(vocabularyPath);
        ShapeDeclaration shape = ShapeDeclaration.Of<TShape>();
        BertWeights weights = LoadWeights(shape, () => OnnxBertLoader.Load(modelPath), $"the model file '{modelPath}'");
        using var vocabulary = new FileStream(vocabularyPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Create<TShape>(weights, WordPieceTokenizer.FromVocab(vocabulary), SentenceTransformersConfig.None, options);
    }

    /// <summary>Loads a BERT-family ONNX export and its vocab.txt from streams (read to their end, not disposed).</summary>
    /// <inheritdoc cref="Load{TShape}(string, string, SentenceEncoderOptions?)"/>
    public static SentenceEncoder Load<TShape>(Stream model, Stream vocabulary, SentenceEncoderOptions? options = null)
        where TShape : ISentenceEncoderShape
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ShapeDeclaration shape = ShapeDeclaration.Of<TShape>();
        BertWeights weights = LoadWeights(shape, () => OnnxBertLoader.Load(model), "the model stream");
        return Create<TShape>(weights, WordPieceTokenizer.FromVocab(vocabulary), SentenceTransformersConfig.None, options);
    }

    /// <summary>
    /// Loads a model directory as Hugging Face publishes one: model.onnx (or onnx/model.onnx) and vocab.txt, and when
    /// present sentence-transformers' modules.json with its Pooling config (pooling, normalisation),
    /// sentence_bert_config.json (max_seq_length) and tokenizer_config.json (do_lower_case). Options set explicitly
    /// win over the files.
    /// </summary>
    /// <inheritdoc cref="Load{TShape}(string, string, SentenceEncoderOptions?)"/>
    /// <param name="directory">The model directory.</param>
    /// <exception cref="InvalidDataException">A file is malformed or asks for something not supported (a Dense module, mean-sqrt pooling), or the model's widths differ from <typeparamref name="TShape"/>'s.</exception>
    public static SentenceEncoder LoadDirectory<TShape>(string directory, SentenceEncoderOptions? options = null)
        where TShape : ISentenceEncoderShape
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The model directory '{directory}' does not exist.");
        }

        string modelPath = new[] { Path.Combine(directory, "model.onnx"), Path.Combine(directory, "onnx", "model.onnx") }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"No model.onnx in '{directory}' or its onnx/ folder.", Path.Combine(directory, "model.onnx"));
        string vocabularyPath = Path.Combine(directory, "vocab.txt");
        SentenceTransformersConfig config = SentenceTransformersConfig.Read(directory);
        ShapeDeclaration shape = ShapeDeclaration.Of<TShape>();
        BertWeights weights = LoadWeights(shape, () => OnnxBertLoader.Load(modelPath), $"the model file '{modelPath}'");
        using var vocabulary = new FileStream(vocabularyPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Create<TShape>(weights, WordPieceTokenizer.FromVocab(vocabulary, config.LowercaseInput ?? true), config, options);
    }

    /// <summary>Builds an encoder from loaded weights and a tokenizer for their vocabulary.</summary>
    /// <exception cref="InvalidDataException">The weights' widths differ from <typeparamref name="TShape"/>'s, or their position table is shorter than its MaxLength.</exception>
    /// <exception cref="ArgumentException">A table of <paramref name="weights"/> is null or does not match its config, a layer is null or mis-sized, or an option is out of range.</exception>
    public static SentenceEncoder Create<TShape>(BertWeights weights, WordPieceTokenizer tokenizer, SentenceEncoderOptions? options = null)
        where TShape : ISentenceEncoderShape
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Create<TShape>(weights, tokenizer, SentenceTransformersConfig.None, options);
    }

    private static SentenceEncoder Create<TShape>(BertWeights weights, WordPieceTokenizer tokenizer, SentenceTransformersConfig directory, SentenceEncoderOptions? options)
        where TShape : ISentenceEncoderShape =>
        new(weights, tokenizer, ShapeDeclaration.Of<TShape>(), directory, options ?? new SentenceEncoderOptions(), TShape.PackLayer, TShape.CreateEncoder);

    private static BertWeights LoadWeights(ShapeDeclaration shape, Func<BertWeights> load, string source)
    {
        // The ONNX loader accepts the exact (erf) GELU only, so a declaration with another activation can never match a file.
        if (shape.Activation != Activation.Gelu)
        {
            throw new InvalidDataException(
                $"{shape.Name} declares Activation = {shape.Activation}, but ONNX models load only with BERT's exact GELU (Activation.Gelu); {source} was not read.");
        }

        BertWeights weights = load();
        shape.CheckMatches(weights.Config, source);
        return weights;
    }

    /// <summary>
    /// A BertWeights is built with an object initializer, so nothing stopped a null or a short table when it was made:
    /// check every table against the config here, before the embeddings index into them.
    /// </summary>
    private static BertConfig CheckWeights(BertWeights weights)
    {
        BertConfig config = weights.Config ?? throw new ArgumentException("weights.Config is null.", nameof(weights));
        if (config.VocabSize <= 0 || config.MaxPositions <= 0 || config.TypeVocabSize <= 0 || config.HiddenSize <= 0 || config.Heads <= 0)
        {
            throw new ArgumentException(
                $"weights.Config: expected positive sizes, got VocabSize {config.VocabSize}, HiddenSize {config.HiddenSize}, Heads {config.Heads}, MaxPositions {config.MaxPositions} and TypeVocabSize {config.TypeVocabSize}.",
                nameof(weights));
        }

        void Table(float[]? table, string name, long rows)
        {
            long expected = rows * config.HiddenSize;
            if (table is null || table.Length != expected)
            {
                throw new ArgumentException(
                    $"weights.{name}: expected {expected} = {rows}×{config.HiddenSize} floats (from weights.Config), got {(table is null ? "null" : table.Length.ToString(CultureInfo.InvariantCulture))}.",
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

    /// <summary>The smallest of <see cref="SequenceBuckets"/> that holds <paramref name="tokens"/> tokens (the last one for longer input).</summary>
    public int BucketFor(int tokens) => _buckets[LengthBatches.BucketIndex(_buckets, tokens)];

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
    /// <param name="lastHiddenState">Receives <c>[batch, sequenceLength, EmbeddingDim]</c>; rows of padding hold values of no meaning.</param>
    /// <exception cref="ArgumentException">A length does not fit, the sequence length is not a bucket, a mask is not right padding, or an id is out of range; nothing is written.</exception>
    public void Forward(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> attentionMask, ReadOnlySpan<long> tokenTypeIds, int sequenceLength, Span<float> lastHiddenState) =>
        Forward(inputIds, attentionMask, tokenTypeIds, sequenceLength, lastHiddenState, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc cref="Forward(ReadOnlySpan{long}, ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{float})"/>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    public void Forward(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> attentionMask, ReadOnlySpan<long> tokenTypeIds, int sequenceLength, Span<float> lastHiddenState, int maxDegreeOfParallelism)
    {
        int bucketIndex = Array.IndexOf(_buckets, sequenceLength);
        if (bucketIndex < 0)
        {
            throw new ArgumentException($"sequenceLength: expected one of {string.Join(", ", _buckets)} (the buckets), got {sequenceLength}.", nameof(sequenceLength));
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
        if ((long)lastHiddenState.Length != (long)inputIds.Length * _hidden)
        {
            throw new ArgumentException($"lastHiddenState: expected {(long)inputIds.Length * _hidden} = {batch}×{sequenceLength}×{_hidden}, got {lastHiddenState.Length}.", nameof(lastHiddenState));
        }

        KernelParallelism.Resolve(maxDegreeOfParallelism);
        EncoderWorkspace workspace = _workspaces.Rent();
        try
        {
            Span<int> counts = EncoderWorkspace.Grow(ref workspace.TokenCounts, batch).AsSpan(0, batch);
            for (int sequence = 0; sequence < batch; sequence++)
            {
                counts[sequence] = RightPaddedCount(attentionMask.Slice(sequence * sequenceLength, sequenceLength), sequence);
            }

            Span<float> embedded = EncoderWorkspace.Grow(ref workspace.Embedded, lastHiddenState.Length).AsSpan(0, lastHiddenState.Length);
            _embeddings.Embed(inputIds, tokenTypeIds, sequenceLength, embedded, maxDegreeOfParallelism);
            workspace.Encoder(bucketIndex).Forward(embedded, counts, lastHiddenState, maxDegreeOfParallelism);
        }
        finally
        {
            _workspaces.Return(workspace);
        }
    }

    /// <summary>
    /// Sentence embeddings as sentence-transformers computes them: the pooled last hidden states of each text
    /// (<see cref="Pooling"/>), L2-normalised when <see cref="Normalize"/> is set, on up to
    /// <see cref="SentenceEncoderOptions.MaxDegreeOfParallelism"/> threads.
    /// </summary>
    /// <param name="sentences">The texts to embed.</param>
    /// <param name="cancellationToken">Checked before each batch; a cancelled call throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>One vector of <see cref="EmbeddingDim"/> floats per text, in the order of <paramref name="sentences"/>.</returns>
    public float[][] Embed(IReadOnlyList<string> sentences, CancellationToken cancellationToken = default) =>
        Embed(sentences, _maxDegreeOfParallelism ?? KernelParallelism.DefaultMaxDegreeOfParallelism, cancellationToken);

    /// <inheritdoc cref="Embed(IReadOnlyList{string}, CancellationToken)"/>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    public float[][] Embed(IReadOnlyList<string> sentences, int maxDegreeOfParallelism, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        int n = sentences.Count;
        if (n == 0)
        {
            return [];
        }

        // Tokenize once: the ids are kept and copied into whichever batch the text lands in.
        var tokens = new long[n][];
        var counts = new int[n];
        for (int i = 0; i < n; i++)
        {
            string sentence = sentences[i] ?? throw new ArgumentNullException(nameof(sentences), $"sentences[{i}] is null.");
            tokens[i] = _tokenizer.EncodeIds(sentence, MaxTokens);
            counts[i] = tokens[i].Length;
        }

        int[] order = LengthBatches.SortedOrder(counts);
        List<LengthBatch> batches = LengthBatches.Plan(counts, order, _buckets, MaxTokensPerBatch);
        var embeddings = new float[n][];
        EncoderWorkspace workspace = _workspaces.Rent();
        try
        {
            foreach (LengthBatch batch in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RunBatch(workspace, batch, order, tokens, embeddings, maxDegreeOfParallelism);
            }
        }
        finally
        {
            _workspaces.Return(workspace);
        }

        return embeddings;
    }

    private void RunBatch(EncoderWorkspace workspace, LengthBatch batch, int[] order, long[][] tokens, float[][] embeddings, int maxDegreeOfParallelism)
    {
        int length = batch.Bucket, rows = batch.Count * length;
        Span<long> ids = EncoderWorkspace.Grow(ref workspace.InputIds, rows).AsSpan(0, rows);
        Span<long> types = EncoderWorkspace.Grow(ref workspace.TokenTypeIds, rows).AsSpan(0, rows);
        Span<int> counts = EncoderWorkspace.Grow(ref workspace.TokenCounts, batch.Count).AsSpan(0, batch.Count);
        ids.Fill(_tokenizer.PadId);
        types.Clear();
        for (int s = 0; s < batch.Count; s++)
        {
            long[] sequence = tokens[order[batch.Start + s]];
            sequence.CopyTo(ids.Slice(s * length, length));
            counts[s] = sequence.Length;
        }

        Span<float> embedded = EncoderWorkspace.Grow(ref workspace.Embedded, rows * _hidden).AsSpan(0, rows * _hidden);
        Span<float> hidden = EncoderWorkspace.Grow(ref workspace.Hidden, rows * _hidden).AsSpan(0, rows * _hidden);
        _embeddings.Embed(ids, types, length, embedded, maxDegreeOfParallelism);
        workspace.Encoder(batch.BucketIndex).Forward(embedded, counts, hidden, maxDegreeOfParallelism);

        Span<double> scratch = EncoderWorkspace.Grow(ref workspace.PoolScratch, _hidden);
        for (int s = 0; s < batch.Count; s++)
        {
            var embedding = new float[_hidden];
            SentencePooler.Pool(hidden.Slice(s * length * _hidden, counts[s] * _hidden), counts[s], _hidden, Pooling, Normalize, embedding, scratch);
            embeddings[order[batch.Start + s]] = embedding;
        }
    }

    /// <summary>The cosine of the angle between two vectors (their dot product, for unit vectors), in double.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
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
