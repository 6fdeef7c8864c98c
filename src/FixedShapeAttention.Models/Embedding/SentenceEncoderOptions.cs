namespace FixedShapeAttention.Models;

/// <summary>
/// How a <see cref="SentenceEncoder"/> pools, normalises and batches. Every value left null is read from the model
/// directory's sentence-transformers files when there are any (modules.json, 1_Pooling/config.json,
/// sentence_bert_config.json), and otherwise takes the default documented on it.
/// </summary>
public sealed class SentenceEncoderOptions
{
    /// <summary>The pooling; null for 1_Pooling/config.json's choice, or <see cref="SentencePooling.Mean"/> without one.</summary>
    public SentencePooling? Pooling { get; set; }

    /// <summary>
    /// Whether embeddings are L2-normalised; null for whether modules.json lists a Normalize module, or true without
    /// modules.json.
    /// </summary>
    public bool? Normalize { get; set; }

    /// <summary>
    /// The longest input in tokens, [CLS] and [SEP] included (at least 2, at most the shape's MaxLength); null for
    /// sentence_bert_config.json's max_seq_length, or the shape's MaxLength without one.
    /// </summary>
    public int? MaxTokens { get; set; }

    /// <summary>
    /// The most padded tokens one forward pass runs (sequences × bucket length); a batch holds at least one sequence
    /// whatever the budget. Default 1024: larger batches ran no faster on the benchmark's texts, and each pooled
    /// workspace holds buffers of about 6 × this × hidden size floats per bucket it has run.
    /// </summary>
    public int MaxTokensPerBatch { get; set; } = 1024;

    /// <summary>Threads per forward pass: -1 for every processor, 1 for the calling thread; null for <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> at the time of the call.</summary>
    public int? MaxDegreeOfParallelism { get; set; }

    /// <summary>
    /// How many workspaces are kept for reuse between calls. Concurrent calls each take a workspace (a new one when
    /// none is free), so no call waits for another; this only bounds what is kept afterwards. Default 2.
    /// </summary>
    public int MaxPooledWorkspaces { get; set; } = 2;
}
