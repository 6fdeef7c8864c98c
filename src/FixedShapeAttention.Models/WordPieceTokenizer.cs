using System;
using System.Buffers;
using System.IO;
using System.Text;
using FastBertTokenizer;

namespace FixedShapeAttention.Models;

/// <summary>
/// BERT's WordPiece tokenizer for a vocab.txt (one token per line, id = line number), as a thin wrapper over
/// FastBertTokenizer, which matches Hugging Face's BertTokenizer: basic pre-tokenization (whitespace, punctuation,
/// CJK characters, accents stripped when lower-casing), then greedy longest-match word pieces.
/// </summary>
public sealed class WordPieceTokenizer
{
    private readonly BertTokenizer _tokenizer;
    private readonly long _sepId;
    private readonly long _padId;

    /// <summary>The id of [PAD], which fills the positions after a sequence's [SEP].</summary>
    internal long PadId => _padId;

    private WordPieceTokenizer(BertTokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        // The special ids, as the tokenizer writes them for the empty text: [CLS] [SEP] [PAD].
        Span<long> ids = stackalloc long[3];
        Span<long> mask = stackalloc long[3];
        tokenizer.Encode("", ids, mask, padTo: 3);
        (_sepId, _padId) = (ids[1], ids[2]);
    }

    /// <summary>
    /// Builds an uncased tokenizer (input lower-cased and accents stripped, as all-MiniLM-L6-v2 and bert-base-uncased
    /// expect) from a vocab.txt with the usual special tokens [UNK], [CLS], [SEP] and [PAD].
    /// </summary>
    /// <param name="vocabTxt">The vocabulary, UTF-8; read to its end and not disposed.</param>
    public static WordPieceTokenizer FromVocab(Stream vocabTxt) => FromVocab(vocabTxt, lowercaseInput: true);

    /// <summary>Builds a tokenizer from a vocab.txt, choosing whether the input is lower-cased (uncased models) or not.</summary>
    /// <param name="lowercaseInput">True for an uncased vocabulary, false for a cased one.</param>
    /// <exception cref="InvalidDataException">The vocabulary lacks one of the special tokens.</exception>
    public static WordPieceTokenizer FromVocab(Stream vocabTxt, bool lowercaseInput)
    {
        ArgumentNullException.ThrowIfNull(vocabTxt);
        var tokenizer = new BertTokenizer();
        using var reader = new StreamReader(vocabTxt, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        try
        {
            tokenizer.LoadVocabulary(reader, lowercaseInput);
        }
        catch (InvalidOperationException ex)
        {
            // FastBertTokenizer reports a vocabulary without [UNK]/[CLS]/[SEP]/[PAD] as an invalid operation; for the
            // caller it is bad input data.
            throw new InvalidDataException($"vocab.txt is not usable: {ex.Message}", ex);
        }

        return new WordPieceTokenizer(tokenizer);
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/> into one fixed-length model input: <c>[CLS]</c>, the word pieces, <c>[SEP]</c>,
    /// then padding (<c>[PAD]</c>, attention mask 0) to the end of the spans. Text that yields more tokens than fit is
    /// truncated and still ends with <c>[SEP]</c>; the empty string gives <c>[CLS] [SEP]</c>.
    /// </summary>
    /// <param name="text">The text to encode.</param>
    /// <param name="inputIds">Receives the token ids; its length is the sequence length (at least 2).</param>
    /// <param name="attentionMask">Receives 1 for each token and 0 for padding; same length as <paramref name="inputIds"/>.</param>
    /// <param name="tokenTypeIds">Receives 0 everywhere (single-segment input); same length as <paramref name="inputIds"/>.</param>
    /// <returns>The number of tokens, <c>[CLS]</c> and <c>[SEP]</c> included: the first positions whose mask is 1.</returns>
    /// <remarks>The whole text is tokenized before the first positions are kept, so a long text costs its full length.</remarks>
    /// <exception cref="ArgumentException">The spans differ in length or are shorter than 2.</exception>
    public int Encode(string text, Span<long> inputIds, Span<long> attentionMask, Span<long> tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(text);
        // [CLS] and [SEP] always take two positions; FastBertTokenizer indexes past a shorter span.
        if (inputIds.Length < 2)
            throw new ArgumentException($"inputIds: expected a length of at least 2 ([CLS] and [SEP]), got {inputIds.Length}.", nameof(inputIds));
        if (attentionMask.Length != inputIds.Length)
            throw new ArgumentException($"attentionMask: expected {inputIds.Length} (the length of inputIds), got {attentionMask.Length}.", nameof(attentionMask));
        if (tokenTypeIds.Length != inputIds.Length)
            throw new ArgumentException($"tokenTypeIds: expected {inputIds.Length} (the length of inputIds), got {tokenTypeIds.Length}.", nameof(tokenTypeIds));

        // Tokenize the whole text, then cut, as Hugging Face's truncation does. FastBertTokenizer 1.2.6 truncating by
        // itself mis-tokenizes an accented word that meets the end of the span: "a naïve b" into 4 positions gives
        // [CLS] a na [SEP] instead of [CLS] a naive [SEP].
        int count = EncodeAll(text, out long[] all, out long[] allMask);
        try
        {
            int kept = Math.Min(count, inputIds.Length);
            all.AsSpan(0, kept).CopyTo(inputIds);
            if (count > kept)
                inputIds[kept - 1] = _sepId;
            inputIds[kept..].Fill(_padId);
            attentionMask[..kept].Fill(1);
            attentionMask[kept..].Clear();
            tokenTypeIds.Clear();
            return kept;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(all);
            ArrayPool<long>.Shared.Return(allMask);
        }
    }

    /// <summary>
    /// The token ids of <paramref name="text"/>, [CLS] and [SEP] included, cut to at most <paramref name="maxTokens"/>
    /// (at least 2) the way <see cref="Encode"/> cuts them: the exact-length array the batcher copies into its batches.
    /// </summary>
    internal long[] EncodeIds(string text, int maxTokens)
    {
        int count = EncodeAll(text, out long[] all, out long[] allMask);
        try
        {
            int kept = Math.Min(count, maxTokens);
            long[] ids = all.AsSpan(0, kept).ToArray();
            if (count > kept)
                ids[kept - 1] = _sepId;
            return ids;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(all);
            ArrayPool<long>.Shared.Return(allMask);
        }
    }

    /// <summary>Every token of <paramref name="text"/>, [CLS] and [SEP] included, in pooled arrays the caller returns.</summary>
    private int EncodeAll(string text, out long[] ids, out long[] mask)
    {
        // Start from one token per char (plus [CLS] and [SEP]), and grow until the encoding does not fill the buffer:
        // a full buffer may have been truncated (Unicode normalization can turn one char into several tokens).
        int capacity = (int)Math.Min(Math.Max(text.Length + 2, 16), Array.MaxLength);
        while (true)
        {
            ids = ArrayPool<long>.Shared.Rent(capacity);
            mask = ArrayPool<long>.Shared.Rent(capacity);
            int count = _tokenizer.Encode(text, ids.AsSpan(0, capacity), mask.AsSpan(0, capacity), padTo: null);
            if (count < capacity || capacity == Array.MaxLength)
                return count;
            ArrayPool<long>.Shared.Return(ids);
            ArrayPool<long>.Shared.Return(mask);
            capacity = (int)Math.Min(2L * capacity, Array.MaxLength);
        }
    }
}
