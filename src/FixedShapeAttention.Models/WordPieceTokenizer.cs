using System;
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

    private WordPieceTokenizer(BertTokenizer tokenizer) => _tokenizer = tokenizer;

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

        // With padTo, FastBertTokenizer returns the padded length; the token count is where the mask turns to 0.
        _tokenizer.Encode(text, inputIds, attentionMask, tokenTypeIds, padTo: inputIds.Length);
        int padding = attentionMask.IndexOf(0L);
        return padding < 0 ? inputIds.Length : padding;
    }
}
