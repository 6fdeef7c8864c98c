namespace FixedShapeAttention.Models;

/// <summary>How the token states of a sentence become one vector (sentence-transformers' Pooling module).</summary>
public enum SentencePooling
{
    /// <summary>The mean over the sentence's tokens, [CLS] and [SEP] included, padding excluded (all-MiniLM, e5).</summary>
    Mean = 0,

    /// <summary>The state of the first token, [CLS] (bge).</summary>
    Cls = 1,

    /// <summary>The per-channel maximum over the sentence's tokens, padding excluded.</summary>
    Max = 2,
}
