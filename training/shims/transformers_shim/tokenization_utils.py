class BatchEncoding(dict):
    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError as e:
            raise AttributeError(k) from e


class PreTrainedTokenizer:
    pass


class PreTrainedTokenizerFast(PreTrainedTokenizer):
    pass
